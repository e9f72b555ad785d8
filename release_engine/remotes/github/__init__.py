"""GitHub: its REST API client (:mod:`.client`, with :mod:`.retry`, :mod:`.rules`,
:mod:`.issues`, :mod:`.pulls`), the release's assets there (:mod:`.assets`,
:mod:`.release_assets`) and the release step (:mod:`.release`). Nothing is imported here:
PyGithub loads only when GitHub is asked.
"""
