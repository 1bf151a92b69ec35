"""Order statistics shared by the kernels (plain Python: each kernel module compiles
it for its target, as the ``*_math`` modules' scalar functions)."""


def kth_smallest(a, k):
    """The value of rank ``k`` in the 1-D array ``a`` (no NaN), partitioning ``a`` in
    place so that nothing before position k is larger and nothing after it smaller
    (Hoare's quickselect: linear on average, and seconds cheaper to compile than a
    sort)."""
    lo = 0
    hi = a.shape[0] - 1
    while lo < hi:
        pivot = a[(lo + hi) >> 1]
        i = lo
        j = hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                t = a[i]
                a[i] = a[j]
                a[j] = t
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return a[k]
