"""Infrastructure below the domain: settings, the database engine, object stores, security, the flow-run dispatcher.

It imports only `models`; nothing here knows a step of the programme.
"""
