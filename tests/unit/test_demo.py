"""The --demo driver: a full visit of one EV, step by step, against a recording gateway."""
from api.gateway import Conflict
from app.demo import Demo


class RecordingGateway:
    def __init__(self):
        self.calls = []
        self.refuse_plug_in = False
        self.plugged = False

    def plug_in(self, evse_id, connector_id):
        if self.refuse_plug_in or self.plugged:
            raise Conflict("connector occupied")
        self.plugged = True
        self.calls.append(("plug_in", evse_id))

    def plug_out(self, evse_id):
        self.plugged = False
        self.calls.append(("plug_out", evse_id))

    def present_token(self, evse_id, id_token, token_type):
        self.calls.append(("token", evse_id, id_token))

    def set_ev_state(self, evse_id, state):
        self.calls.append(("ev", evse_id, state))

    def evse(self, evse_id):
        return {"connectors": [{"id": 1, "status": "Occupied" if self.plugged else "Available"}],
                "transaction": {"energy_wh": 1500.0}}


def run_visit(demo, evse_id, steps=12):
    visit = demo._visits[evse_id]
    for _ in range(steps):
        demo.step(evse_id, visit, visit.due)


def test_a_visit_plugs_in_authorizes_charges_stops_and_leaves():
    gateway = RecordingGateway()
    demo = Demo(gateway, [1], seed=1, clock=lambda: 0.0)
    run_visit(demo, 1, steps=6)
    kinds = [c[0] for c in gateway.calls]
    assert kinds[:3] == ["plug_in", "token", "ev"]
    assert "plug_out" in kinds
    tokens = [c[2] for c in gateway.calls if c[0] == "token"]
    assert len(tokens) >= 2 and len(set(tokens[:2])) == 1      # the same card starts and stops


def test_a_refused_step_is_retried_later():
    gateway = RecordingGateway()
    gateway.refuse_plug_in = True
    demo = Demo(gateway, [1], seed=1, clock=lambda: 0.0)
    visit = demo._visits[1]
    try:
        demo.step(1, visit, visit.due)
    except Conflict:
        pass
    assert visit.step == "away"


def test_an_ev_left_plugged_in_by_an_earlier_run_leaves_first():
    """The simulated EVSE keeps its cable across a restart; the demo must not wait for ever."""
    gateway = RecordingGateway()
    gateway.plugged = True
    demo = Demo(gateway, [1], seed=1, clock=lambda: 0.0)
    run_visit(demo, 1, steps=2)
    assert [c[0] for c in gateway.calls][:2] == ["plug_out", "plug_in"]
