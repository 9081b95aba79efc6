"""The one error a ping can fail with: a status code and a reason for the client."""


class PingError(Exception):
    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
