"""Request bodies of the interaction API."""
from typing import Annotated

from pydantic import StringConstraints

from govmedia.schemas import Strict


class ReplyIn(Strict):
    # The platform's own limit (Weibo 140) is checked by the service, which knows the message.
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=600)]
