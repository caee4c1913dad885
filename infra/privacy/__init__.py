"""Personal data on request and by the clock (UAE PDPL): ``sahab data erase`` and ``sahab data prune``.

| module      | concern                                                                                  |
|-------------|------------------------------------------------------------------------------------------|
| ``erasure`` | one customer out of every store: online, offline, prediction log, stream state; the record |
| ``retention`` | each store's rows older than the environment's ``privacy`` retention, removed            |
| ``audit``   | the append-only record of both (who, when, which stores, how many rows; never a raw id)   |

The stores' own removal code lives with the stores (``features.online_erasure``, ``features.offline_rows``,
``features.ingest.erasure_requests``, ``bento_services.prediction_log``); this package only sequences them and
keeps the record. ``docs/privacy.md`` is the data-flow map.
"""
