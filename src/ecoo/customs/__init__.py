"""The customs mode of the service: a verifier-only service that an importing customs
administration runs itself (``ecoo serve --customs``).

It verifies certificates from every registry of its trust list, checks declarations against them
(the single-window check), records receipt, utilisation and rejection on each certificate's
registry, follows the registries for later revocations (alerts, webhooks) and keeps statistics.
No chamber keys, no anchoring worker. The design is in ``docs/customs.md``.
"""
