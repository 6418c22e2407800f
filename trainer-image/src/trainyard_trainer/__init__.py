"""trainyard_trainer."""

import os

# torch's OpenMP threads otherwise spin while they wait for work. On a node shared with other
# processes (the run logger, a database, other pods) spinning threads take the cores the training
# needs: on 2 cores, the policy's forward pass took 218 ms instead of 3 ms. Must be set before torch
# loads OpenMP, hence here; a value the user sets wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
