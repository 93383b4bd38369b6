"""Windows socket errors as ``netsh`` prints them (lower-case hex), with their texts."""

from __future__ import annotations

WSAECONNRESET = 0x2746       # 10054
WSAETIMEDOUT = 0x274C        # 10060
WSAECONNREFUSED = 0x274D     # 10061
WSAHOST_NOT_FOUND = 0x2AF9   # 11001
WSATRY_AGAIN = 0x2AFA        # 11002
WSANO_DATA = 0x2AFC          # 11004

MESSAGES = {
    WSAECONNRESET: "An existing connection was forcibly closed by the remote host.",
    WSAETIMEDOUT: "A connection attempt failed because the connected party did not properly "
                  "respond after a period of time, or established connection failed because "
                  "connected host has failed to respond.",
    WSAECONNREFUSED: "No connection could be made because the target machine actively "
                     "refused it.",
    WSAHOST_NOT_FOUND: "No such host is known.",
    WSATRY_AGAIN: "This is usually a temporary error during hostname resolution and means "
                  "that the local server did not receive a response from an authoritative "
                  "server.",
    WSANO_DATA: "The requested name is valid, but no data of the requested type was found.",
}


class SocketError(Exception):
    """A Winsock failure: ``code`` is the error number, ``hex`` its netsh form."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(detail or MESSAGES.get(code, f"socket error {code}"))

    @property
    def hex(self) -> str:
        return f"0x{self.code:x}"

    @property
    def message(self) -> str:
        return MESSAGES.get(self.code, "")
