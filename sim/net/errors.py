"""Windows socket errors as ``netsh`` prints them (lower-case hex), with their texts.

Codes and texts: Windows Sockets Error Codes (winsock2.h; learn.microsoft.com, "Windows
Sockets Error Codes"); fact sheet §6.3 for what each means to IP-HTTPS.
"""

from __future__ import annotations

WSAECONNABORTED = 0x2745     # 10053
WSAECONNRESET = 0x2746       # 10054
WSAETIMEDOUT = 0x274C        # 10060
WSAECONNREFUSED = 0x274D     # 10061
WSAHOST_NOT_FOUND = 0x2AF9   # 11001
WSATRY_AGAIN = 0x2AFA        # 11002
WSANO_DATA = 0x2AFC          # 11004

NAMES = {
    WSAECONNABORTED: "WSAECONNABORTED",
    WSAECONNRESET: "WSAECONNRESET",
    WSAETIMEDOUT: "WSAETIMEDOUT",
    WSAECONNREFUSED: "WSAECONNREFUSED",
    WSAHOST_NOT_FOUND: "WSAHOST_NOT_FOUND",
    WSATRY_AGAIN: "WSATRY_AGAIN",
    WSANO_DATA: "WSANO_DATA",
}

MESSAGES = {
    WSAECONNABORTED: "An established connection was aborted by the software in your host "
                     "machine.",
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
    """A Winsock failure: ``code`` is the error number, ``hex`` its netsh form (``0x274c``),
    ``name`` its symbol, ``message`` the Windows text; ``detail`` says what happened here."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        self.detail = detail
        super().__init__(detail or MESSAGES.get(code, f"socket error {code}"))

    @property
    def hex(self) -> str:
        return f"0x{self.code:x}"

    @property
    def name(self) -> str:
        return NAMES.get(self.code, f"error {self.code}")

    @property
    def message(self) -> str:
        return MESSAGES.get(self.code, "")
