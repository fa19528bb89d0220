"""The parts of bench/cluster.py: the shared services, the processes of each role, the load and the meters."""
