"""A complete, made-up demo supply chain for Tracemark, and the programs that play it.

    python -m samples.build [--out samples/out]   build the sample ledger, keys, labels, video
    python -m samples.run [--port 8000]           build it once, then serve it (make run)
    python -m samples.demo [--server URL]         play the story against a server (make demo)

Every key here is a TEST ONLY key derived from a public name (``samples.story.test_key``):
anyone can recompute it, so nothing signed with it proves anything outside a demo.
"""
