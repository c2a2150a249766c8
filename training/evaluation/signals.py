"""Evaluation events other parts of the evaluation area react to.

Receivers run inside the sender's write transaction, so their changes commit or roll back
with it.
"""
from blinker import Namespace

_signals = Namespace()

#: sent with the Evaluation and `now` when a delegate submits a form
evaluation_submitted = _signals.signal("evaluation-submitted")
