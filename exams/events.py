"""What the attempt engine announces; later capabilities subscribe (nothing imports upwards).

Each signal is sent by exams.engine inside the request's (or command's) transaction, after
the change is flushed: a subscriber that writes joins that transaction, and a failure rolls
both back together (a subscriber with effects outside the database, such as a message,
defers them with ``lms.transaction.after_commit``). The sender is the Attempt (the
Candidate for an absence); keyword arguments say the rest.

- ``attempt_finished``: an attempt was submitted or timed out (``reason``).
- ``typing_finished``: a typing attempt of a sitting finished (the sender); its result may
  be held for a trainer's review (``review`` is "held").
- ``result_final``: a candidate's result of a sitting became final: graded, and no further
  attempt is possible (every attempt used, or the sitting closed) (``candidate``,
  ``outcome``: passed, failed or absent, ``score``). A provisional result is never sent.
- ``result_changed``: a final result changed after a regrade or a manual grade
  (``candidate``, ``before`` and ``after`` as (outcome, score), ``cause``).

Training policy (retraining and dismissal flags) and certificates listen to these, e.g.::

    from exams import events

    @events.result_final.connect
    def on_result(attempt, candidate, outcome, score, **_):
        ...
"""

from blinker import Namespace

_signals = Namespace()

attempt_finished = _signals.signal("attempt-finished")
typing_finished = _signals.signal("typing-finished")
result_final = _signals.signal("result-final")
result_changed = _signals.signal("result-changed")
