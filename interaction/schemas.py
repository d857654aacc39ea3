"""Request bodies of the interaction API."""
from typing import Annotated

from pydantic import StringConstraints

from govmedia.schemas import Strict


class ReplyIn(Strict):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=600)]
