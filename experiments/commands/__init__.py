"""The ``etwin`` commands, one module per group; each registers its own flags.

The modules only parse flags, call the library (physics/, surrogates/, optimize/, the jobs in
experiments/) and write files; no physics lives here.
"""

from experiments.commands import (
    convert,
    jobs,
    line,
    materials,
    mechanics,
    pipeline,
    pressure_path,
    structure,
    transport,
)

#: the groups in the order ``etwin --help`` lists their commands
GROUPS = (materials, structure, mechanics, transport, pipeline, jobs, line, pressure_path,
          convert)
