"""Media inputs: base64 and URLs of images, audio and video, turned into checked bytes.

``inputs.media_input_parse`` validates a request's media keys into ``MediaInput`` objects (on the
request path, no I/O); ``load.media_load`` turns one into bytes: decoded base64 as it is, a URL fetched
by ``fetch.media_fetch`` (public addresses only unless the namespace allow-lists them, pinned per hop,
size-limited while streaming). Either way the type is sniffed from the bytes (``sniff``).
"""

from inference.media.config import MediaConfig, media_config
from inference.media.inputs import b64_decode, media_input_parse
from inference.media.load import LoadedMedia, media_load

__all__ = ["MediaConfig", "media_config", "b64_decode", "media_input_parse", "LoadedMedia", "media_load"]
