-- A narrator library at schema version 1 (before build keys and claims), as `sqlite3 .dump` would
-- write it; test_library.py opens it to check the migrations.
PRAGMA user_version = 1;
BEGIN TRANSACTION;
CREATE TABLE chapters (
            episode_id INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            start_ms INTEGER NOT NULL,
            end_ms INTEGER NOT NULL,
            title TEXT NOT NULL,
            PRIMARY KEY (episode_id, position)
        );
INSERT INTO "chapters" VALUES(1,0,0,30000,'Beginning');
INSERT INTO "chapters" VALUES(1,1,30000,61500,'End');
CREATE TABLE episodes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            guid TEXT NOT NULL UNIQUE,
            stem TEXT NOT NULL UNIQUE,
            source TEXT NOT NULL,
            text_hash TEXT NOT NULL,
            title TEXT NOT NULL,
            author TEXT NOT NULL DEFAULT '',
            language TEXT NOT NULL DEFAULT 'en',
            description TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL DEFAULT '',
            published_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            duration_ms INTEGER NOT NULL,
            chapter_count INTEGER NOT NULL
        );
INSERT INTO "episodes" VALUES(1,'5b0f6f3e-7c43-4d52-9a57-0d7f3b6f2a11','old-article','/articles/old-article.txt','3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f','An article from schema version 1','Ada Lovelace','en','Recorded before build keys existed.','Recorded before build keys existed.

Second paragraph.','2025-03-01T09:30:00+00:00','2025-03-01T09:30:00+00:00',61500,2);
CREATE TABLE files (
            episode_id INTEGER NOT NULL REFERENCES episodes (id) ON DELETE CASCADE,
            kind TEXT NOT NULL CHECK (kind IN ('audio', 'vtt', 'srt', 'chapters', 'image')),
            name TEXT NOT NULL,
            size_bytes INTEGER NOT NULL,
            PRIMARY KEY (episode_id, kind)
        );
INSERT INTO "files" VALUES(1,'audio','old-article.mp3',1234);
INSERT INTO "files" VALUES(1,'vtt','old-article.vtt',56);
INSERT INTO "files" VALUES(1,'srt','old-article.srt',55);
INSERT INTO "files" VALUES(1,'chapters','old-article.chapters.json',300);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO "meta" VALUES('podcast_guid','917393e3-1b1e-5cef-ace4-edaa54e1f810');
CREATE INDEX episodes_source ON episodes (source);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('episodes',1);
COMMIT;
