"""What every other package stands on, and which imports none of them: the error hierarchy, the checks on a
client's strings, Redis clients, the refresh-ahead cache, the registration hooks, metrics and log lines."""
