"""WSGI entry point: gunicorn wsgi:app, or flask --app wsgi ..."""

import gc

from lms import create_app

app = create_app()
# What start-up made (modules, the app, its extensions: about 145,000 objects) lives as long
# as the worker. Frozen, the collector's full collections no longer walk it. Each of them
# stops every thread of the worker: with 1,000 typists (bench.exam_load --typing) they
# took 137-596 ms each, 5.4 s in all, and fell on the finish burst; frozen, 115 ms at most.
gc.collect()  # start-up's garbage first: frozen, it would stay for good
gc.freeze()
