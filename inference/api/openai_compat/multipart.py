"""A ``multipart/form-data`` body as fields and files, with the standard library: the body is split on
its boundary (binary-safe), each part's headers read with ``email``'s header parser."""

from __future__ import annotations

import email.parser
import email.policy
from dataclasses import dataclass
from email.message import Message

from core.errors import BadRequestError


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


def _boundary(content_type: str) -> str:
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not 1 <= len(boundary) <= 70:
        raise BadRequestError("multipart/form-data needs a boundary parameter in Content-Type")
    return boundary


def multipart_parse(content_type: str, raw: bytes) -> tuple[dict[str, str], dict[str, Upload]]:
    """Fields (UTF-8 text) and files by name; a malformed body is a 400."""
    delimiter = b"\r\n--" + _boundary(content_type).encode("latin-1")
    sections = (b"\r\n" + raw).split(delimiter)
    if len(sections) < 3 or not sections[-1].startswith(b"--"):
        raise BadRequestError("Malformed multipart/form-data body: no closing boundary")
    fields: dict[str, str] = {}
    files: dict[str, Upload] = {}
    parser = email.parser.BytesHeaderParser(policy=email.policy.HTTP)
    for section in sections[1:-1]:
        head, separator, content = section.partition(b"\r\n\r\n")
        if not separator:
            raise BadRequestError("Malformed multipart/form-data body: a part has no header block")
        headers = parser.parsebytes(head.lstrip(b"\r\n") + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise BadRequestError("Malformed multipart/form-data body: a part has no name")
        filename = headers.get_filename()
        if filename is not None:
            files[name] = Upload(filename, headers.get_content_type(), content)
            continue
        try:
            fields[name] = content.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequestError(f"Form field {name!r} is not UTF-8 text") from None
    return fields, files
