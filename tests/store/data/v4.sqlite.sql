-- A version-4 newsmon database on SQLite, created new at version 4 by
-- SqlStore.open, with rows written through the Store: the rows of the
-- version-3 snapshot (a feed with health fields; four seen items with their
-- texts, one of them the day before and matching nothing; two copies of one
-- story; in the outbox one alert delivered, one waiting for a digest due at
-- 13:00, one dead letter, one pending for a channel a later copy of the story
-- reached; two messages), then a poll at 14:00 that read the feed: it still
-- carries guid:1 and guid:3 (their marks refreshed to 14:00), no longer guid:4
-- (dropped_before 13:00); the other feed was never read since (no feeds row).
-- Dumped with Python's sqlite3 iterdump. Frozen: never regenerate it from
-- newer code, or the upgrade tests stop testing upgrades.

BEGIN TRANSACTION;
CREATE TABLE feeds (
	url TEXT NOT NULL, 
	etag TEXT, 
	last_modified TEXT, 
	next_poll_at DATETIME, 
	last_polled_at DATETIME, 
	failures INTEGER NOT NULL, 
	last_status INTEGER, 
	last_error TEXT, 
	last_new_item_at DATETIME, 
	cadence_s FLOAT, 
	health TEXT DEFAULT 'ok' NOT NULL, 
	dropped_before DATETIME, 
	PRIMARY KEY (url)
);
INSERT INTO "feeds" VALUES('https://news.example.org/world.rss','W/"abc"','Wed, 01 May 2024 10:00:00 GMT','2024-05-01 12:05:00.000000','2024-05-01 12:00:00.000000',0,200,NULL,'2024-05-01 10:00:00.000000',1800.0,'silent','2024-05-01 13:00:00.000000');
CREATE TABLE item_texts (
	fingerprint TEXT NOT NULL, 
	feed TEXT NOT NULL, 
	feed_title TEXT NOT NULL, 
	title TEXT NOT NULL, 
	summary TEXT NOT NULL, 
	content TEXT NOT NULL, 
	link TEXT NOT NULL, 
	published DATETIME, 
	seen_at DATETIME NOT NULL, 
	PRIMARY KEY (fingerprint)
);
INSERT INTO "item_texts" VALUES('guid:4','https://news.example.org/world.rss','Example World','Markets close higher','Stocks rose in Tokyo and Seoul.','Shares in Tokyo and Seoul rose for a third day.','https://news.example.org/guid:4',NULL,'2024-04-30 12:00:00.000000');
INSERT INTO "item_texts" VALUES('guid:1','https://news.example.org/world.rss','Example World','Strait tensions rise','Warships near Taiwan.','Taiwan said Chinese warships crossed the median line of the Taiwan Strait.','https://news.example.org/guid:1','2024-05-01 11:55:00.000000','2024-05-01 12:00:00.000000');
INSERT INTO "item_texts" VALUES('guid:3','https://news.example.org/world.rss','Example World','Talks resume in Geneva','Envoys meet again on trade.','Negotiators from Washington and Beijing met in Geneva on tariffs.','https://news.example.org/guid:3','2024-05-01 11:55:00.000000','2024-05-01 12:01:00.000000');
INSERT INTO "item_texts" VALUES('guid:2','https://other.example.net/feed','Other Wire','Strait tensions rise, says ministry','Warships near Taiwan.','','https://news.example.org/guid:2','2024-05-01 11:56:00.000000','2024-05-01 12:02:00.000000');
CREATE TABLE messages (
	id INTEGER NOT NULL, 
	channel TEXT NOT NULL, 
	sent_at DATETIME NOT NULL, 
	kind TEXT NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "messages" VALUES(1,'mail','2024-05-01 12:00:05.000000','alert');
INSERT INTO "messages" VALUES(2,'mail','2024-05-01 12:04:00.000000','admin');
CREATE TABLE outbox (
	id INTEGER NOT NULL, 
	fingerprint TEXT NOT NULL, 
	channel TEXT NOT NULL, 
	payload JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	attempts INTEGER NOT NULL, 
	next_attempt_at DATETIME NOT NULL, 
	last_attempt_at DATETIME, 
	delivered_at DATETIME, 
	last_error TEXT, 
	story TEXT, 
	digest_due DATETIME, 
	dead_at DATETIME, 
	PRIMARY KEY (id), 
	CONSTRAINT outbox_one_alert_per_item_and_channel UNIQUE (fingerprint, channel)
);
INSERT INTO "outbox" VALUES(1,'guid:1','chat','{"fingerprint": "guid:1", "channel": "chat", "title": "Strait tensions rise", "link": "https://news.example.org/guid:1", "feed": "Example World", "published": "2024-05-01T11:55:00+00:00", "rules": ["taiwan"], "terms": ["Taiwan"], "snippet": "Warships near **Taiwan**.", "template": null}','2024-05-01 12:00:00.000000',0,'2024-05-01 12:00:00.000000',NULL,NULL,NULL,'guid:1','2024-05-01 13:00:00.000000',NULL);
INSERT INTO "outbox" VALUES(2,'guid:1','mail','{"fingerprint": "guid:1", "channel": "mail", "title": "Strait tensions rise", "link": "https://news.example.org/guid:1", "feed": "Example World", "published": "2024-05-01T11:55:00+00:00", "rules": ["taiwan"], "terms": ["Taiwan"], "snippet": "Warships near **Taiwan**.", "template": null}','2024-05-01 12:00:00.000000',1,'2024-05-01 12:00:00.000000','2024-05-01 12:00:05.000000','2024-05-01 12:00:05.000000',NULL,'guid:1',NULL,NULL);
INSERT INTO "outbox" VALUES(3,'guid:3','mail','{"fingerprint": "guid:3", "channel": "mail", "title": "Talks resume in Geneva", "link": "https://news.example.org/guid:3", "feed": "Example World", "published": "2024-05-01T11:55:00+00:00", "rules": ["taiwan"], "terms": ["Taiwan"], "snippet": "Warships near **Taiwan**.", "template": null}','2024-05-01 12:01:00.000000',2,'2024-05-01 12:03:00.000000','2024-05-01 12:03:05.000000',NULL,'HTTP 401 Unauthorized','guid:3',NULL,'2024-05-01 12:03:05.000000');
INSERT INTO "outbox" VALUES(4,'guid:2','sms','{"fingerprint": "guid:2", "channel": "sms", "title": "Strait tensions rise, says ministry", "link": "https://news.example.org/guid:2", "feed": "Other Wire", "published": "2024-05-01T11:56:00+00:00", "rules": ["taiwan"], "terms": ["Taiwan"], "snippet": "Warships near **Taiwan**.", "template": null}','2024-05-01 12:02:00.000000',0,'2024-05-01 12:02:00.000000',NULL,NULL,NULL,'guid:1',NULL,NULL);
CREATE TABLE schema_version (
	version INTEGER NOT NULL, 
	applied_at DATETIME NOT NULL, 
	summary TEXT NOT NULL, 
	PRIMARY KEY (version)
);
INSERT INTO "schema_version" VALUES(4,'2026-12-01 12:27:56.051671','new database');
CREATE TABLE seen_items (
	fingerprint TEXT NOT NULL, 
	feed TEXT NOT NULL, 
	title TEXT NOT NULL, 
	link TEXT NOT NULL, 
	seen_at DATETIME NOT NULL, 
	last_seen_at DATETIME, 
	PRIMARY KEY (fingerprint)
);
INSERT INTO "seen_items" VALUES('guid:4','https://news.example.org/world.rss','Markets close higher','https://news.example.org/guid:4','2024-04-30 12:00:00.000000','2024-04-30 12:00:00.000000');
INSERT INTO "seen_items" VALUES('guid:1','https://news.example.org/world.rss','Strait tensions rise','https://news.example.org/guid:1','2024-05-01 12:00:00.000000','2024-05-01 14:00:00.000000');
INSERT INTO "seen_items" VALUES('guid:3','https://news.example.org/world.rss','Talks resume in Geneva','https://news.example.org/guid:3','2024-05-01 12:01:00.000000','2024-05-01 14:00:00.000000');
INSERT INTO "seen_items" VALUES('guid:2','https://other.example.net/feed','Strait tensions rise, says ministry','https://news.example.org/guid:2','2024-05-01 12:02:00.000000','2024-05-01 12:02:00.000000');
CREATE TABLE story_items (
	fingerprint TEXT NOT NULL, 
	story TEXT NOT NULL, 
	signature BLOB NOT NULL, 
	link TEXT NOT NULL, 
	feed_title TEXT NOT NULL, 
	title TEXT NOT NULL, 
	seen_at DATETIME NOT NULL, 
	PRIMARY KEY (fingerprint)
);
INSERT INTO "story_items" VALUES('guid:1','guid:1',X'0100000002000000000102030405060708090A0B0C0D0E0F','https://news.example.org/guid:1','Example World','Strait tensions rise','2024-05-01 12:00:00.000000');
INSERT INTO "story_items" VALUES('guid:3','guid:3',X'0100000003000000101112131415161718191A1B1C1D1E1F','https://news.example.org/guid:3','Example World','Talks resume in Geneva','2024-05-01 12:01:00.000000');
INSERT INTO "story_items" VALUES('guid:2','guid:1',X'0100000002000000000102030405060708090A0B0C0D0E0F','https://news.example.org/guid:2','Other Wire','Strait tensions rise, says ministry','2024-05-01 12:02:00.000000');
CREATE INDEX seen_items_last_seen_at ON seen_items (last_seen_at);
CREATE UNIQUE INDEX outbox_one_alert_per_story_and_channel ON outbox (story, channel);
CREATE INDEX outbox_digest_due ON outbox (delivered_at, digest_due);
CREATE INDEX outbox_due ON outbox (delivered_at, next_attempt_at);
CREATE INDEX outbox_dead ON outbox (dead_at);
CREATE INDEX story_items_seen_at ON story_items (seen_at);
CREATE INDEX story_items_story ON story_items (story);
CREATE INDEX item_texts_seen_at ON item_texts (seen_at, fingerprint);
CREATE INDEX messages_by_channel ON messages (channel, sent_at);
CREATE INDEX messages_sent_at ON messages (sent_at);
COMMIT;
