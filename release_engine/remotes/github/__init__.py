"""GitHub: its REST API client (:mod:`.client`, over :mod:`.http` and :mod:`.retry`, with
:mod:`.rules`, :mod:`.issues`, :mod:`.pulls`), the release's assets there (:mod:`.assets`,
:mod:`.release_assets`) and the release step (:mod:`.release`). Nothing is imported here:
the client and urllib3 load only when GitHub is asked.
"""
