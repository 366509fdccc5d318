"""Developer tools for the local stack: emulator, provisioning, seed data, event pipeline.

Never packaged into the Lambda zip (only ``app.py`` and ``chalicelib/`` are).
"""
