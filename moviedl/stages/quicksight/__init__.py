"""QuickSight over the Athena views: the dashboard as code (:mod:`.definition`) and its
deployment, status and removal (:mod:`.deploy`)."""
