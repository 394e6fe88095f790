"""The VNN-LIB 2.0 solver command-line standard for bvverify (``bvverify-vnnlib``).

``verify.py`` runs one ``verify`` call (query, networks named on the command line, timeout) and
words the answer in the 2.0 output format; ``capabilities.py`` answers ``supports``; ``models.py``
loads the named networks and checks their interfaces. The command line itself is
``bvverify/cli/vnnlib_cmd.py``.
"""
