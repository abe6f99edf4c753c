"""The echo app's manifest: served by the conformance suite's gateway and worker."""

import sagaway
from tests.gateway.conformance.echo_steps import EchoSteps
from tests.gateway.conformance.echo_workflow import Echo

app = sagaway.App(name="echo", workflows=[Echo], activities=[EchoSteps()])
