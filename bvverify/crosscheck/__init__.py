"""Cross-checking another verifier's per-query results (``bvverify crosscheck``).

Each published query becomes a :class:`~bvverify.crosscheck.claims.Claim`; the runner replays
any witness it carries, decides the query itself with the default engine, classifies the
pair (agree, contradiction of one of three kinds, resolved, open, neither) and re-checks every
contradiction by an independent second path (numpy from the benchmark README for Keras h5
networks, torch itself for torch models)."""
