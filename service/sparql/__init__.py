"""The SPARQL 1.1 Protocol: request parsing, guarded execution, results."""
