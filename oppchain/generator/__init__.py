"""A deterministic synthetic world: events for the pipeline and the truth to check it by.

``generate(seed, days=730, *, events=None, workspaces=3, bad_fraction=0.0,
late_fraction=0.01, start=None)`` simulates a few brands (workspaces): their own
accounts (one may be broadcast-only), posts, strangers who discover them,
followers, relationships that move across platforms and offline, introductions,
asks and gives, the CRM (contacts, accounts, leads, opportunities, contracts,
revenue, costs), follow-for-follow rings and engagement pods. ``World.events``
is the stream (one JSON document per line, in production order, a few touches
late, bad lines mixed in); ``World.truth`` is what a correct pipeline must find.
``write(world, events_path, truth_path)`` saves both.

Same arguments give byte-identical output. With ``events`` set the stream has
exactly that many lines, ``round(events * bad_fraction)`` of them bad.

Truth (JSON):

- ``params``: the arguments, ``start``/``end`` and the number of strangers.
- ``counts``: ``by_event_type`` (valid events), ``events``, ``valid``, ``bad``,
  ``bad_by_kind``, ``late``.
- ``bad``: per bad line ``line`` (0-based), ``kind``, ``reason`` (the
  ``DecodeFailure.reason`` it must get), ``event_id``, ``workspace``, ``copy_of``.
- ``late``: event ids of touches emitted later than their event time.
- ``workspaces``: per workspace ``events``, ``crm_source``, ``own_accounts``
  (platform, handle, key, broadcast_only), ``campaigns``, ``first_touches``,
  ``contracts``.
- ``persons``: per simulated person ``workspace``, ``role``, ``keys`` (handle and
  contact keys as ``schemas.keys`` writes them), ``emails`` (in clear; the
  pipeline sees ``email:<hash_email(secret, workspace, email)>``), ``contact_id``,
  ``account_id``, ``first_touch`` / ``first_touch_at``. Only keys that occur in
  the emitted events; every person resolves to exactly one identity component
  (``split_persons`` counts exceptions and is 0).
- ``opportunities``: per id ``workspace``, ``contact_id``, ``person``,
  ``account_id``, ``kind``, ``type``, ``value`` (amount at creation),
  ``currency``, ``status`` (open/won/lost), ``created_at``, ``closed_at``,
  ``won_amount``, ``stages``, ``chain`` (touch event ids, oldest first) and
  ``channels`` (one per touch).
- ``rings`` / ``pods``: per workspace a list of ``{own_account, members}``
  (member handle keys); ``broadcast_only_accounts``: per workspace own keys.
- ``gives`` / ``asks``: per workspace ``explicit`` (outbound acts carrying that
  intent; outbound ``help_given`` counts as an explicit give) and ``intended``
  (what the simulation meant, intent written or not).
- ``first_touches``, ``contracts``, ``conversion_one_in``; ``revenue`` per
  account (``amount``, ``currency``, ``events``); ``cost`` per workspace
  (``total``, ``by_platform``, ``by_campaign``, ``by_kind``).
"""

from oppchain.generator.world import World, generate, write

__all__ = ["World", "generate", "write"]
