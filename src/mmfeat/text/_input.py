"""Documents -> Arrow-style buffers (UTF-8 bytes + int64 offsets), with the input checks.

Accepted: lists/tuples of str (or bytes, decoded with the vectorizer's encoding),
NumPy str/object arrays, pandas and polars Series, pyarrow string arrays (zero-copy
for ``large_string``; ``string`` and ``string_view`` are cast, which copies only
the offsets or the views), and cuDF string Series (through their documented
``to_arrow()``, a copy to the host; the cuda backend copies the buffers back to
the device). The kernels trust what comes out of here.
"""

from __future__ import annotations

import codecs
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

#: libraries whose Series are one batch of documents (never an iterable of batches)
_SERIES_MODULES = ("pandas", "polars", "cudf")


class NeedsReference(Exception):
    """The documents cannot take the compiled path (e.g. lone surrogates); use the reference."""


class TextBuffers:
    """``buf`` (uint8) and ``offs`` (int64, n + 1): document d is buf[offs[d]:offs[d+1]]."""

    def __init__(self, buf: np.ndarray, offs: np.ndarray):
        self.buf = buf
        self.offs = offs

    def __len__(self) -> int:
        return self.offs.shape[0] - 1

    def slice(self, start: int, stop: int) -> TextBuffers:
        return TextBuffers(self.buf, self.offs[start : stop + 1])


def check_not_str(raw_documents: Any) -> None:
    if isinstance(raw_documents, (str, bytes)):
        raise ValueError("Iterable over raw text documents expected, string object received.")


def _bad_document(doc: Any, i: int) -> Exception:
    if isinstance(doc, float) and math.isnan(doc):
        return ValueError(
            f"np.nan is an invalid document, expected byte or unicode string (document {i})."
        )
    return TypeError(
        f"raw_documents[{i}] is {type(doc).__name__}, expected str or bytes (None and "
        "non-string items are not documents)"
    )


def decode_documents(docs: Sequence[Any], encoding: str, decode_error: str) -> list[str]:
    """str for every document (bytes decoded); errors name the document's position."""
    out = []
    for i, doc in enumerate(docs):
        if isinstance(doc, str):
            out.append(doc)
        elif isinstance(doc, (bytes, bytearray, np.bytes_)):
            try:
                out.append(bytes(doc).decode(encoding, decode_error))
            except UnicodeDecodeError as exc:
                raise UnicodeDecodeError(
                    exc.encoding, exc.object, exc.start, exc.end, f"{exc.reason} (document {i})"
                ) from None
        else:
            raise _bad_document(doc, i)
    return out


def _is_strict_utf8(encoding: str, decode_error: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8" and decode_error == "strict"
    except LookupError:
        return False


def _decode_binary(arr: pa.Array, encoding: str, decode_error: str) -> pa.Array:
    """Arrow bytes -> large_string, decoded as scikit-learn decodes each bytes document
    (the vectorizer's encoding and decode_error); Arrow's own cast checks strict UTF-8
    only, and says nothing of where it failed."""
    if arr.null_count:
        i = int(pc.index(pc.is_null(arr), True).as_py())
        raise TypeError(f"raw_documents[{i}] is None (null), expected str")
    if _is_strict_utf8(encoding, decode_error):
        try:
            return pc.cast(arr, pa.large_string())
        except pa.ArrowInvalid:
            pass  # decoded below, for the error that names the document
    docs = decode_documents(arr.to_pylist(), encoding, decode_error)
    try:
        return pa.array(docs, type=pa.large_string())
    except UnicodeEncodeError:
        raise NeedsReference("documents with lone surrogates") from None


def _from_arrow(arr: pa.Array | pa.ChunkedArray, encoding: str = "utf-8",
                decode_error: str = "strict") -> TextBuffers:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_binary(arr.type) or pa.types.is_large_binary(arr.type):
        arr = _decode_binary(arr, encoding, decode_error)
    if not pa.types.is_large_string(arr.type):
        if not (pa.types.is_string(arr.type) or pa.types.is_string_view(arr.type)
                or pa.types.is_null(arr.type)):
            raise TypeError(f"raw_documents: expected an Arrow string array, got {arr.type}")
        arr = pc.cast(arr, pa.large_string())
    if arr.null_count:
        i = int(pc.index(pc.is_null(arr), True).as_py())
        raise TypeError(f"raw_documents[{i}] is None (null), expected str")
    n = len(arr)
    _, off_buf, data_buf = arr.buffers()
    offs = np.frombuffer(off_buf, np.int64)[arr.offset : arr.offset + n + 1]
    buf = np.frombuffer(data_buf, np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    return TextBuffers(buf, offs)


def to_buffers(docs: Any, encoding: str = "utf-8", decode_error: str = "strict") -> TextBuffers:
    """Arrow-style buffers of a batch of documents (see module docstring).

    Raises
    ------
    ValueError / TypeError / UnicodeDecodeError
        naming the position of a NaN, None, non-string or undecodable document.
    NeedsReference
        for text UTF-8 cannot carry (lone surrogates).
    """
    mod = type(docs).__module__.split(".")[0]
    if isinstance(docs, (pa.Array, pa.ChunkedArray)):
        return _from_arrow(docs, encoding, decode_error)
    if mod in ("polars", "cudf"):
        return _from_arrow(docs.to_arrow(), encoding, decode_error)
    if mod == "pandas":
        try:
            arr = pa.array(docs, from_pandas=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, UnicodeError):
            docs = list(docs)  # the general path below (lone surrogates: the reference)
        else:
            return _from_arrow(arr, encoding, decode_error)
    if isinstance(docs, np.ndarray):
        if docs.ndim != 1:
            raise ValueError(f"raw_documents must be 1-D, got an array of shape {docs.shape}")
        if docs.dtype.kind == "U":
            try:
                return _from_arrow(pa.array(docs, type=pa.large_string()))
            except UnicodeError:  # lone surrogates: UTF-8 cannot carry them
                raise NeedsReference("documents with lone surrogates") from None
        docs = docs.tolist()
    if not isinstance(docs, (list, tuple)):
        docs = list(docs)
    try:
        # no declared type: bytes items make the array binary and take the decode
        # path below (with the vectorizer's encoding), instead of being read as UTF-8
        arr = pa.array(docs)
    except UnicodeEncodeError:
        raise NeedsReference("documents with lone surrogates") from None
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        arr = None
    if arr is None or not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)
                           or pa.types.is_null(arr.type)):
        docs = decode_documents(docs, encoding, decode_error)
        try:
            arr = pa.array(docs, type=pa.large_string())
        except UnicodeEncodeError:
            raise NeedsReference("documents with lone surrogates") from None
    if arr.null_count:
        i = int(pc.index(pc.is_null(arr), True).as_py())
        raise _bad_document(None, i)
    return _from_arrow(arr)


def python_documents(docs: Any) -> Any:
    """The documents as Python objects, for the reference path (which iterates them):
    Arrow arrays and cuDF Series (whose elements are not str, or which refuse
    iteration) become lists; anything else is returned as it is."""
    if isinstance(docs, (pa.Array, pa.ChunkedArray)):
        return docs.to_pylist()
    if type(docs).__module__.split(".")[0] == "cudf":
        return docs.to_arrow().to_pylist()
    return docs


def is_batch_iterable(raw_documents: Any) -> bool:
    """A non-sequence iterable (e.g. a generator) is read as batches of documents
    when its items are themselves collections of documents (never a str)."""
    return isinstance(raw_documents, Iterable) and not isinstance(
        raw_documents, (str, bytes, list, tuple, np.ndarray, pa.Array, pa.ChunkedArray)
    ) and type(raw_documents).__module__.split(".")[0] not in _SERIES_MODULES


def is_document_batch(item: Any) -> bool:
    return not isinstance(item, (str, bytes, bytearray, np.bytes_, float, int)) and (
        isinstance(item, (list, tuple, np.ndarray, pa.Array, pa.ChunkedArray))
        or type(item).__module__.split(".")[0] in _SERIES_MODULES
    )
