"""GitHub: releases and their assets, pull requests, the review and CI gates."""
