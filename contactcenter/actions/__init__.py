"""The only code that changes state. `check_*` functions validate input and raise InputError;
`do_*` functions mutate inside a transaction they are given; the public functions run a whole
transaction and publish its events after the commit.
"""

from contactcenter.actions.intake import receive_inbound
from contactcenter.actions.users import add_user, end_session, start_session
from contactcenter.actions.workspace import sync_workspace

__all__ = ["add_user", "end_session", "receive_inbound", "start_session", "sync_workspace"]
