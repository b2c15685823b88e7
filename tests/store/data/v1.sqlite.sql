-- A version-1 newsmon database on SQLite, as newsmon made it before it kept a
-- schema version: tables created by SqlStore.open (metadata.create_all), rows
-- written through the Store (a feed's state; three seen items; in the outbox one
-- alert delivered, one pending and one failed once). Dumped with Python's
-- sqlite3 iterdump. Frozen: never regenerate it from newer code, or the upgrade
-- tests stop testing upgrades.

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
	PRIMARY KEY (url)
);
INSERT INTO "feeds" VALUES('https://news.example.org/world.rss','W/"abc"','Wed, 01 May 2024 10:00:00 GMT','2024-05-01 12:05:00.000000','2024-05-01 12:00:00.000000',0,200,NULL);
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
	PRIMARY KEY (id), 
	CONSTRAINT outbox_one_alert_per_item_and_channel UNIQUE (fingerprint, channel)
);
INSERT INTO "outbox" VALUES(1,'guid:1','mail','{"fingerprint": "guid:1", "channel": "mail", "title": "Strait tensions rise", "link": "https://news.example.org/guid:1", "feed": "Example World", "published": "2024-05-01T11:55:00+00:00", "rules": ["taiwan"], "terms": ["Taiwan"], "snippet": "Warships near **Taiwan**."}','2024-05-01 12:00:00.000000',1,'2024-05-01 12:00:00.000000','2024-05-01 12:00:05.000000','2024-05-01 12:00:05.000000',NULL);
INSERT INTO "outbox" VALUES(2,'guid:1','chat','{"fingerprint": "guid:1", "channel": "chat", "title": "Strait tensions rise", "link": "https://news.example.org/guid:1", "feed": "Example World", "published": "2024-05-01T11:55:00+00:00", "rules": ["taiwan"], "terms": ["Taiwan"], "snippet": "Warships near **Taiwan**."}','2024-05-01 12:00:00.000000',0,'2024-05-01 12:00:00.000000',NULL,NULL,NULL);
INSERT INTO "outbox" VALUES(3,'guid:2','mail','{"fingerprint": "guid:2", "channel": "mail", "title": "Talks resume in Geneva", "link": "https://news.example.org/guid:2", "feed": "Example World", "published": "2024-05-01T11:55:00+00:00", "rules": ["taiwan"], "terms": ["Taiwan"], "snippet": "Warships near **Taiwan**."}','2024-05-01 12:01:00.000000',1,'2024-05-01 12:03:00.000000','2024-05-01 12:01:05.000000',NULL,'Connection refused');
CREATE TABLE seen_items (
	fingerprint TEXT NOT NULL, 
	feed TEXT NOT NULL, 
	title TEXT NOT NULL, 
	link TEXT NOT NULL, 
	seen_at DATETIME NOT NULL, 
	PRIMARY KEY (fingerprint)
);
INSERT INTO "seen_items" VALUES('guid:1','https://news.example.org/world.rss','Strait tensions rise','https://news.example.org/guid:1','2024-05-01 12:00:00.000000');
INSERT INTO "seen_items" VALUES('guid:2','https://news.example.org/world.rss','Talks resume in Geneva','https://news.example.org/guid:2','2024-05-01 12:01:00.000000');
INSERT INTO "seen_items" VALUES('guid:3','https://news.example.org/world.rss','Quiet day','https://news.example.org/guid:3','2024-05-01 12:02:00.000000');
CREATE INDEX outbox_due ON outbox (delivered_at, next_attempt_at);
COMMIT;
