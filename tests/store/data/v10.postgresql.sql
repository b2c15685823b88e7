-- A version-10 newsmon database on PostgreSQL: the version-9 snapshot (see
-- v9.postgresql.sql) upgraded to version 10 by SqlStore.open, which adds only
-- the outbox's index by creation time (the web API's); its data unchanged.
-- Dumped with pg_dump --inserts --no-owner --no-privileges (comments and
-- session settings removed).
-- Frozen: never regenerate it from newer code, or the upgrade tests stop
-- testing upgrades.

CREATE TABLE public.alert_acks (
    alert_id bigint NOT NULL,
    until timestamp with time zone NOT NULL,
    acked_at timestamp with time zone NOT NULL
);

CREATE TABLE public.feeds (
    url text NOT NULL,
    etag text,
    last_modified text,
    next_poll_at timestamp with time zone,
    last_polled_at timestamp with time zone,
    failures integer NOT NULL,
    last_status integer,
    last_error text,
    last_new_item_at timestamp with time zone,
    cadence_s double precision,
    health text DEFAULT 'ok'::text NOT NULL,
    dropped_before timestamp with time zone,
    item_gap_s double precision,
    ttl_s double precision
);

CREATE TABLE public.item_texts (
    fingerprint text NOT NULL,
    feed text NOT NULL,
    feed_title text NOT NULL,
    title text NOT NULL,
    summary text NOT NULL,
    content text NOT NULL,
    link text NOT NULL,
    published timestamp with time zone,
    seen_at timestamp with time zone NOT NULL
);

CREATE TABLE public.managed_feeds (
    url text NOT NULL,
    name text,
    interval_s double precision,
    added_at timestamp with time zone NOT NULL
);

CREATE TABLE public.messages (
    id bigint NOT NULL,
    channel text NOT NULL,
    sent_at timestamp with time zone NOT NULL,
    kind text NOT NULL
);

CREATE SEQUENCE public.messages_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.messages_id_seq OWNED BY public.messages.id;

CREATE TABLE public.outbox (
    id bigint NOT NULL,
    fingerprint text NOT NULL,
    channel text NOT NULL,
    payload json NOT NULL,
    created_at timestamp with time zone NOT NULL,
    attempts integer NOT NULL,
    next_attempt_at timestamp with time zone NOT NULL,
    last_attempt_at timestamp with time zone,
    delivered_at timestamp with time zone,
    last_error text,
    story text,
    digest_due timestamp with time zone,
    dead_at timestamp with time zone
);

CREATE SEQUENCE public.outbox_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.outbox_id_seq OWNED BY public.outbox.id;

CREATE TABLE public.rule_mutes (
    rule text NOT NULL,
    until timestamp with time zone NOT NULL,
    muted_at timestamp with time zone NOT NULL
);

CREATE TABLE public.schema_version (
    version integer NOT NULL,
    applied_at timestamp with time zone NOT NULL,
    summary text NOT NULL
);

CREATE TABLE public.seen_items (
    fingerprint text NOT NULL,
    feed text NOT NULL,
    title text NOT NULL,
    link text NOT NULL,
    seen_at timestamp with time zone NOT NULL,
    last_seen_at timestamp with time zone
);

CREATE TABLE public.story_bands (
    band integer NOT NULL,
    item_key bigint NOT NULL
);

CREATE TABLE public.story_items (
    fingerprint text NOT NULL,
    story text NOT NULL,
    signature bytea NOT NULL,
    link text NOT NULL,
    feed_title text NOT NULL,
    title text NOT NULL,
    seen_at timestamp with time zone NOT NULL,
    item_key bigint
);

CREATE TABLE public.websub (
    feed text NOT NULL,
    callback_id text NOT NULL,
    hub text NOT NULL,
    topic text NOT NULL,
    secret text NOT NULL,
    state text NOT NULL,
    next_action_at timestamp with time zone,
    lease_expires_at timestamp with time zone,
    attempts integer NOT NULL,
    last_error text,
    revision integer NOT NULL
);

ALTER TABLE ONLY public.messages ALTER COLUMN id SET DEFAULT nextval('public.messages_id_seq'::regclass);

ALTER TABLE ONLY public.outbox ALTER COLUMN id SET DEFAULT nextval('public.outbox_id_seq'::regclass);

INSERT INTO public.alert_acks VALUES (1, '2024-05-02 12:00:00+00', '2024-05-01 12:00:00+00');

INSERT INTO public.feeds VALUES ('https://news.example.org/world.rss', 'W/"abc"', 'Wed, 01 May 2024 10:00:00 GMT', '2024-05-01 12:05:00+00', '2024-05-01 12:00:00+00', 0, 200, NULL, '2024-05-01 10:00:00+00', 1800, 'silent', '2024-05-01 13:00:00+00', 1500, 900);

INSERT INTO public.item_texts VALUES ('guid:4', 'https://news.example.org/world.rss', 'Example World', 'Markets close higher', 'Stocks rose in Tokyo and Seoul.', 'Shares in Tokyo and Seoul rose for a third day.', 'https://news.example.org/guid:4', NULL, '2024-04-30 12:00:00+00');
INSERT INTO public.item_texts VALUES ('guid:1', 'https://news.example.org/world.rss', 'Example World', 'Strait tensions rise', 'Warships near Taiwan.', 'Taiwan said Chinese warships crossed the median line of the Taiwan Strait.', 'https://news.example.org/guid:1', '2024-05-01 11:55:00+00', '2024-05-01 12:00:00+00');
INSERT INTO public.item_texts VALUES ('guid:3', 'https://news.example.org/world.rss', 'Example World', 'Talks resume in Geneva', 'Envoys meet again on trade.', 'Negotiators from Washington and Beijing met in Geneva on tariffs.', 'https://news.example.org/guid:3', '2024-05-01 11:55:00+00', '2024-05-01 12:01:00+00');
INSERT INTO public.item_texts VALUES ('guid:2', 'https://other.example.net/feed', 'Other Wire', 'Strait tensions rise, says ministry', 'Warships near Taiwan.', '', 'https://news.example.org/guid:2', '2024-05-01 11:56:00+00', '2024-05-01 12:02:00+00');

INSERT INTO public.managed_feeds VALUES ('https://blog.example.org/atom.xml', 'Example blog', NULL, '2024-05-01 12:30:00+00');
INSERT INTO public.managed_feeds VALUES ('https://wire.example.net/rss', NULL, 300, '2024-05-01 12:45:00+00');

INSERT INTO public.messages VALUES (1, 'mail', '2024-05-01 12:00:05+00', 'alert');
INSERT INTO public.messages VALUES (2, 'mail', '2024-05-01 12:04:00+00', 'admin');

INSERT INTO public.outbox VALUES (1, 'guid:1', 'chat', '{"fingerprint": "guid:1", "channel": "chat", "title": "Strait tensions rise", "link": "https://news.example.org/guid:1", "feed": "Example World", "published": "2024-05-01T11:55:00+00:00", "rules": ["taiwan"], "terms": ["Taiwan"], "snippet": "Warships near **Taiwan**.", "template": null}', '2024-05-01 12:00:00+00', 0, '2024-05-01 12:00:00+00', NULL, NULL, NULL, 'guid:1', '2024-05-01 13:00:00+00', NULL);
INSERT INTO public.outbox VALUES (5, 'guid:2', 'sms', '{"fingerprint": "guid:2", "channel": "sms", "title": "Strait tensions rise, says ministry", "link": "https://news.example.org/guid:2", "feed": "Other Wire", "published": "2024-05-01T11:56:00+00:00", "rules": ["taiwan"], "terms": ["Taiwan"], "snippet": "Warships near **Taiwan**.", "template": null}', '2024-05-01 12:02:00+00', 0, '2024-05-01 12:02:00+00', NULL, NULL, NULL, 'guid:1', NULL, NULL);
INSERT INTO public.outbox VALUES (2, 'guid:1', 'mail', '{"fingerprint": "guid:1", "channel": "mail", "title": "Strait tensions rise", "link": "https://news.example.org/guid:1", "feed": "Example World", "published": "2024-05-01T11:55:00+00:00", "rules": ["taiwan"], "terms": ["Taiwan"], "snippet": "Warships near **Taiwan**.", "template": null}', '2024-05-01 12:00:00+00', 1, '2024-05-01 12:00:00+00', '2024-05-01 12:00:05+00', '2024-05-01 12:00:05+00', NULL, 'guid:1', NULL, NULL);
INSERT INTO public.outbox VALUES (3, 'guid:3', 'mail', '{"fingerprint": "guid:3", "channel": "mail", "title": "Talks resume in Geneva", "link": "https://news.example.org/guid:3", "feed": "Example World", "published": "2024-05-01T11:55:00+00:00", "rules": ["taiwan"], "terms": ["Taiwan"], "snippet": "Warships near **Taiwan**.", "template": null}', '2024-05-01 12:01:00+00', 2, '2024-05-01 12:03:00+00', '2024-05-01 12:03:05+00', NULL, 'HTTP 401 Unauthorized', 'guid:3', NULL, '2024-05-01 12:03:05+00');

INSERT INTO public.rule_mutes VALUES ('taiwan', '2024-05-01 20:00:00+00', '2024-05-01 12:00:00+00');

INSERT INTO public.schema_version VALUES (7, '2026-12-01 15:21:36.415788+00', 'new database');
INSERT INTO public.schema_version VALUES (8, '2026-12-01 21:09:16.670845+00', 'feeds added at run time (newsmon feeds add, the API)');
INSERT INTO public.schema_version VALUES (9, '2026-12-01 21:12:11.28953+00', 'the dashboard''s rule mutes and alert acknowledgements');
INSERT INTO public.schema_version VALUES (10, '2026-12-01 21:17:44.936935+00', 'alerts by the time they were made, for the web API');

INSERT INTO public.seen_items VALUES ('guid:4', 'https://news.example.org/world.rss', 'Markets close higher', 'https://news.example.org/guid:4', '2024-04-30 12:00:00+00', '2024-04-30 12:00:00+00');
INSERT INTO public.seen_items VALUES ('guid:2', 'https://other.example.net/feed', 'Strait tensions rise, says ministry', 'https://news.example.org/guid:2', '2024-05-01 12:02:00+00', '2024-05-01 12:02:00+00');
INSERT INTO public.seen_items VALUES ('guid:1', 'https://news.example.org/world.rss', 'Strait tensions rise', 'https://news.example.org/guid:1', '2024-05-01 12:00:00+00', '2024-05-01 14:00:00+00');
INSERT INTO public.seen_items VALUES ('guid:3', 'https://news.example.org/world.rss', 'Talks resume in Geneva', 'https://news.example.org/guid:3', '2024-05-01 12:01:00+00', '2024-05-01 14:00:00+00');

INSERT INTO public.story_bands VALUES (-2144103774, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-2104738863, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-2087036993, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-1893208537, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-1860387679, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-1623896535, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-1522688900, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-1501153333, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-1472884791, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-1443401727, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-1352498695, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-1312097930, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-1124371335, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-1109520614, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-938395306, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-925369435, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-922527977, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-877800892, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-830735984, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-823067398, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-801261725, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-792214292, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-744224409, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-668972707, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-624150748, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-564781180, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-514531393, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-391290316, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-346309308, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-261193527, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-106078633, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-53782997, 1797851499725526281);
INSERT INTO public.story_bands VALUES (101748842, 1797851499725526281);
INSERT INTO public.story_bands VALUES (104856054, 1797851499725526281);
INSERT INTO public.story_bands VALUES (124285135, 1797851499725526281);
INSERT INTO public.story_bands VALUES (166835263, 1797851499725526281);
INSERT INTO public.story_bands VALUES (169715297, 1797851499725526281);
INSERT INTO public.story_bands VALUES (188061694, 1797851499725526281);
INSERT INTO public.story_bands VALUES (222350800, 1797851499725526281);
INSERT INTO public.story_bands VALUES (281650925, 1797851499725526281);
INSERT INTO public.story_bands VALUES (297242409, 1797851499725526281);
INSERT INTO public.story_bands VALUES (573019140, 1797851499725526281);
INSERT INTO public.story_bands VALUES (590598486, 1797851499725526281);
INSERT INTO public.story_bands VALUES (669501415, 1797851499725526281);
INSERT INTO public.story_bands VALUES (674824199, 1797851499725526281);
INSERT INTO public.story_bands VALUES (729980068, 1797851499725526281);
INSERT INTO public.story_bands VALUES (740632220, 1797851499725526281);
INSERT INTO public.story_bands VALUES (759422041, 1797851499725526281);
INSERT INTO public.story_bands VALUES (929517445, 1797851499725526281);
INSERT INTO public.story_bands VALUES (939147409, 1797851499725526281);
INSERT INTO public.story_bands VALUES (1009767292, 1797851499725526281);
INSERT INTO public.story_bands VALUES (1019461922, 1797851499725526281);
INSERT INTO public.story_bands VALUES (1313651118, 1797851499725526281);
INSERT INTO public.story_bands VALUES (1403414383, 1797851499725526281);
INSERT INTO public.story_bands VALUES (1434571311, 1797851499725526281);
INSERT INTO public.story_bands VALUES (1452509177, 1797851499725526281);
INSERT INTO public.story_bands VALUES (1520941127, 1797851499725526281);
INSERT INTO public.story_bands VALUES (1615313936, 1797851499725526281);
INSERT INTO public.story_bands VALUES (1659481775, 1797851499725526281);
INSERT INTO public.story_bands VALUES (1687472019, 1797851499725526281);
INSERT INTO public.story_bands VALUES (1857991859, 1797851499725526281);
INSERT INTO public.story_bands VALUES (1904280671, 1797851499725526281);
INSERT INTO public.story_bands VALUES (1919799154, 1797851499725526281);
INSERT INTO public.story_bands VALUES (1969637850, 1797851499725526281);
INSERT INTO public.story_bands VALUES (2017817599, 1797851499725526281);
INSERT INTO public.story_bands VALUES (-2058236258, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-2029735651, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-1806877592, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-1646920643, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-1584801752, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-1536859491, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-1491268569, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-1479521890, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-1422684597, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-1273937122, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-1071003192, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-1058520594, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-1045406339, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-1005977042, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-990144395, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-881193686, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-840024017, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-817354940, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-783178777, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-682679681, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-628724332, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-559382927, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-544011035, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-526246635, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-400993858, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-192997440, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-169407568, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-158911573, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-142290103, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-75057861, 1797851562639871559);
INSERT INTO public.story_bands VALUES (22558950, 1797851562639871559);
INSERT INTO public.story_bands VALUES (40187409, 1797851562639871559);
INSERT INTO public.story_bands VALUES (54620422, 1797851562639871559);
INSERT INTO public.story_bands VALUES (91365242, 1797851562639871559);
INSERT INTO public.story_bands VALUES (273116328, 1797851562639871559);
INSERT INTO public.story_bands VALUES (319683655, 1797851562639871559);
INSERT INTO public.story_bands VALUES (354400487, 1797851562639871559);
INSERT INTO public.story_bands VALUES (591347148, 1797851562639871559);
INSERT INTO public.story_bands VALUES (594036046, 1797851562639871559);
INSERT INTO public.story_bands VALUES (597446952, 1797851562639871559);
INSERT INTO public.story_bands VALUES (641985515, 1797851562639871559);
INSERT INTO public.story_bands VALUES (732400121, 1797851562639871559);
INSERT INTO public.story_bands VALUES (801498132, 1797851562639871559);
INSERT INTO public.story_bands VALUES (894124994, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1043652181, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1080844183, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1219535323, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1300227085, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1314157222, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1370250527, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1405394220, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1431788037, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1472653683, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1591299760, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1622447773, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1671348043, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1764246654, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1786687391, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1843869560, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1851642704, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1855528331, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1911445629, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1925244730, 1797851562639871559);
INSERT INTO public.story_bands VALUES (1999418337, 1797851562639871559);
INSERT INTO public.story_bands VALUES (2001934853, 1797851562639871559);
INSERT INTO public.story_bands VALUES (-2144103774, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-2087036993, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-1957586605, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-1860387679, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-1623896535, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-1522688900, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-1472884791, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-1352498695, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-1179901024, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-1109520614, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-925369435, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-922527977, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-908161158, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-877800892, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-877409875, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-850431995, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-830735984, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-823067398, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-792214292, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-744224409, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-668972707, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-624150748, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-564781180, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-514531393, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-508383113, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-391290316, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-346309308, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-261193527, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-106078633, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-77709387, 1797851625554677939);
INSERT INTO public.story_bands VALUES (-53782997, 1797851625554677939);
INSERT INTO public.story_bands VALUES (19019583, 1797851625554677939);
INSERT INTO public.story_bands VALUES (59938213, 1797851625554677939);
INSERT INTO public.story_bands VALUES (101748842, 1797851625554677939);
INSERT INTO public.story_bands VALUES (104856054, 1797851625554677939);
INSERT INTO public.story_bands VALUES (124285135, 1797851625554677939);
INSERT INTO public.story_bands VALUES (166835263, 1797851625554677939);
INSERT INTO public.story_bands VALUES (169715297, 1797851625554677939);
INSERT INTO public.story_bands VALUES (188061694, 1797851625554677939);
INSERT INTO public.story_bands VALUES (259257028, 1797851625554677939);
INSERT INTO public.story_bands VALUES (268083814, 1797851625554677939);
INSERT INTO public.story_bands VALUES (297242409, 1797851625554677939);
INSERT INTO public.story_bands VALUES (306280846, 1797851625554677939);
INSERT INTO public.story_bands VALUES (309344113, 1797851625554677939);
INSERT INTO public.story_bands VALUES (489370134, 1797851625554677939);
INSERT INTO public.story_bands VALUES (573019140, 1797851625554677939);
INSERT INTO public.story_bands VALUES (590598486, 1797851625554677939);
INSERT INTO public.story_bands VALUES (669501415, 1797851625554677939);
INSERT INTO public.story_bands VALUES (729980068, 1797851625554677939);
INSERT INTO public.story_bands VALUES (929517445, 1797851625554677939);
INSERT INTO public.story_bands VALUES (939147409, 1797851625554677939);
INSERT INTO public.story_bands VALUES (1009767292, 1797851625554677939);
INSERT INTO public.story_bands VALUES (1313651118, 1797851625554677939);
INSERT INTO public.story_bands VALUES (1434571311, 1797851625554677939);
INSERT INTO public.story_bands VALUES (1452509177, 1797851625554677939);
INSERT INTO public.story_bands VALUES (1476976703, 1797851625554677939);
INSERT INTO public.story_bands VALUES (1520941127, 1797851625554677939);
INSERT INTO public.story_bands VALUES (1719261637, 1797851625554677939);
INSERT INTO public.story_bands VALUES (1760629615, 1797851625554677939);
INSERT INTO public.story_bands VALUES (1761060516, 1797851625554677939);
INSERT INTO public.story_bands VALUES (1857991859, 1797851625554677939);
INSERT INTO public.story_bands VALUES (1866183485, 1797851625554677939);
INSERT INTO public.story_bands VALUES (1904280671, 1797851625554677939);
INSERT INTO public.story_bands VALUES (1969637850, 1797851625554677939);
INSERT INTO public.story_bands VALUES (2003810260, 1797851625554677939);

INSERT INTO public.story_items VALUES ('guid:1', 'guid:1', '\x010a000000659f0914f8e231427423b71576360b33b048e400a7645c280ecf0404c658e40721e5a508dd697c3623f23a154e66b702ea10e00db2ea4424839be621082d6d0a023a8c2d52db920caffbb80ef67ffe0b71a90607d71456011f1677144c4987049179140bb551af29080d6a2eb2fde90be2d33c0c60cdef0741566a462e1cbb0207ea412350121816b2012c0c81977f1d7835e3080ffee5001e8fde06683ae203ebe620405a9c730be35a10109a2f5604c53c703fab7fb80d609fe0432104450490d8fb015092982eab15fa4a13c78c061b5479070bcf75046138b5223bc5052431be5502ad00b214ebead421ee8aba027a87061a847d55069f4e1d0489f46802a8813e17af7b47173a8761156e5c6f2d8b5ed220cab6bc436ec27d0211ae015d4370b82f726739142b1183522d42ce2c8d2e370a457f34208c23bc06c33fce4ce9646a3402b942223369a23f3b51c2015efc40090c684110f348b21acc0dc406cb4d0713ecba180884e762186e3b650b0b738416da4c4e1e1c66d600088bed1c1e655735cd49f40ab2d10c0d0a3b5f1b530f0301dcc9313b84803b01cb557609025766045f59110528524311d8b6fe121f412b0395196a03207f38001098af4ec4d4000888120b0f313c51038f961001f50d010b18917f2866bb8505e306be041cebe2028bf6bc45d0ac4402799c280a90d93f085029c5056e2f4d2544ff0117', 'https://news.example.org/guid:1', 'Example World', 'Strait tensions rise', '2024-05-01 12:00:00+00', 1797851499725526281);
INSERT INTO public.story_items VALUES ('guid:3', 'guid:3', '\x010a0000001cfc3943993d35023de5de19a15e520c1ce0d2397d9e1609e3f01816f1384b1aad790e19b90dde33edf7aa0ba40d97049419733a1f417c3a0e735b13d622192f13a4e614db46d71c9d290104cc22713b42f76c07b5d2202209ab7e260eb5a0023dfefb1c95ddac0542d98106e902dd2182d5ad021f09311561242002b811760829214e29662acf0ffeef6812f572d10eefee46066b5b7912968b5601b62cb1028b8349003b5dec146a5c6b15b304280199ecbb1486ff3b17fcb2740532230b1b1d33340b170a4b0840bf1d21f7879105218cad29c9d67916f31eaa084198ee0be67dc3059468ad18f6caa419a7964a397670da57f0139d07b8ccac0415442e01f4ae15039fb6751a177a5f21c288b4285742ab049fc8d91624263e19aa97f14926abbf23192b950f33b0350141abdc033353d537f672de198bf4c71fa2a6f114f9ec4008f4d0d91ae84898028ddf3d4e7028050108a3f226b61c3a22fd9aab0907f7b847a53b8202d79eff164ca60f01af28350bb68c9620b61c7518abecc108c57acf1979cfab288748ad2bb712901299c73d0bd8893d37155d422089fd561f8e91110a6200bd03af4be42088dc290035926c0f04e0e10567ab4e3ac7c8c3168c11b206612d9d20c84ad4019939a10baab77a11f4e2451b023941301693541222cbfc19d1d5e715bd86f30b12aa3547614bdf36f0af9504ea23cc1048e5de0c', 'https://news.example.org/guid:3', 'Example World', 'Talks resume in Geneva', '2024-05-01 12:01:00+00', 1797851562639871559);
INSERT INTO public.story_items VALUES ('guid:2', 'guid:1', '\x010c000000659f0914f8e231427423b715bde64917b048e40063c2aa0d0ecf0404c658e40721e5a5080ee9a80523f23a154e66b702ea10e00d8ad76e17839be621082d6d0af8bdbc1f52db920caffbb80ef67ffe0b71a90607d71456011f1677144c4987049179140b51534704080d6a2eb2fde90be2d33c0c60cdef07eca4ef242e1cbb0207ea412350121816b2012c0c81977f1d7835e3080ffee5001e8fde06683ae203ec3de83c5a9c730be35a10109a2f5604c53c703fab7fb80d609fe0432104450490d8fb01b9aa411fe897b50513c78c061b5479070bcf75046138b5223024e22031be5502ad00b214ebead421ee8aba027a87061a847d55069f4e1d0489f46802a8813e170c29dd023a876115dde1542d8b5ed220cab6bc436ec27d0211ae015d0d5b5907726739142b1183522d42ce2c8d2e370a457f34208c23bc06c33fce4ce9646a3402b942223369a23f3b51c2015efc40090c684110f348b21acc0dc406cb4d0713ecba180884e762186e3b650b0b738416da4c4e1e1c66d600010c95037f43b814cd49f40ab2d10c0d0a3b5f1b530f030130fc531184803b01cb557609025766045f59110528524311d8b6fe121f412b0395196a03207f380014416703c4d4000888120b0f313c51038f961001f50d010b18917f2866bb8505660d33031cebe2028bf6bc45d0ac4402799c280a90d93f085029c5056e2f4d2544ff0117', 'https://news.example.org/guid:2', 'Other Wire', 'Strait tensions rise, says ministry', '2024-05-01 12:02:00+00', 1797851625554677939);

INSERT INTO public.websub VALUES ('https://news.example.org/world.rss', 'cb-world', 'https://hub.example.org/', 'https://news.example.org/world.rss', 'secret-world-0123456789abcdef', 'active', '2024-05-07 04:24:00+00', '2024-05-08 14:00:00+00', 0, NULL, 1);
INSERT INTO public.websub VALUES ('https://other.example.net/feed', 'cb-other', 'https://hub.example.net/', 'https://other.example.net/feed?self', 'secret-other-0123456789abcdef', 'denied', '2024-05-02 14:05:00+00', NULL, 0, 'not on this hub', 1);

SELECT pg_catalog.setval('public.messages_id_seq', 2, true);

SELECT pg_catalog.setval('public.outbox_id_seq', 5, true);

ALTER TABLE ONLY public.alert_acks
    ADD CONSTRAINT alert_acks_pkey PRIMARY KEY (alert_id);

ALTER TABLE ONLY public.feeds
    ADD CONSTRAINT feeds_pkey PRIMARY KEY (url);

ALTER TABLE ONLY public.item_texts
    ADD CONSTRAINT item_texts_pkey PRIMARY KEY (fingerprint);

ALTER TABLE ONLY public.managed_feeds
    ADD CONSTRAINT managed_feeds_pkey PRIMARY KEY (url);

ALTER TABLE ONLY public.messages
    ADD CONSTRAINT messages_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_one_alert_per_item_and_channel UNIQUE (fingerprint, channel);

ALTER TABLE ONLY public.outbox
    ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.rule_mutes
    ADD CONSTRAINT rule_mutes_pkey PRIMARY KEY (rule);

ALTER TABLE ONLY public.schema_version
    ADD CONSTRAINT schema_version_pkey PRIMARY KEY (version);

ALTER TABLE ONLY public.seen_items
    ADD CONSTRAINT seen_items_pkey PRIMARY KEY (fingerprint);

ALTER TABLE ONLY public.story_bands
    ADD CONSTRAINT story_bands_pkey PRIMARY KEY (band, item_key);

ALTER TABLE ONLY public.story_items
    ADD CONSTRAINT story_items_pkey PRIMARY KEY (fingerprint);

ALTER TABLE ONLY public.websub
    ADD CONSTRAINT websub_pkey PRIMARY KEY (feed);

CREATE INDEX item_texts_seen_at ON public.item_texts USING btree (seen_at, fingerprint);

CREATE INDEX messages_by_channel ON public.messages USING btree (channel, sent_at);

CREATE INDEX messages_sent_at ON public.messages USING btree (sent_at);

CREATE INDEX outbox_created_at ON public.outbox USING btree (created_at, id);

CREATE INDEX outbox_dead ON public.outbox USING btree (dead_at);

CREATE INDEX outbox_digest_due ON public.outbox USING btree (delivered_at, digest_due);

CREATE INDEX outbox_due ON public.outbox USING btree (delivered_at, next_attempt_at);

CREATE UNIQUE INDEX outbox_one_alert_per_story_and_channel ON public.outbox USING btree (story, channel);

CREATE INDEX seen_items_last_seen_at ON public.seen_items USING btree (last_seen_at);

CREATE INDEX story_items_item_key ON public.story_items USING btree (item_key);

CREATE INDEX story_items_seen_at ON public.story_items USING btree (seen_at);

CREATE INDEX story_items_story ON public.story_items USING btree (story);

CREATE UNIQUE INDEX websub_callback ON public.websub USING btree (callback_id);

CREATE INDEX websub_next_action ON public.websub USING btree (next_action_at);
