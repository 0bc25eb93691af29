/** Brings an SQLite file's schema up to date (the SQL itself is in migrations.ts). */
import type Database from 'better-sqlite3';
import { newBatchId } from '../../domain/batch.js';
import { foreignKeyProblems } from './integrity.js';
import { SQLITE_MIGRATIONS } from './migrations.js';

/**
 * Applies pending migrations in one IMMEDIATE transaction, so two processes starting on one file apply each
 * once. Foreign keys are off meanwhile, as SQLite's procedure for rebuilding a table requires (a table that
 * others reference is dropped and replaced), and checked before the commit: a violation rolls all back.
 * Returns the versions applied.
 */
export function migrate(db: Database.Database): number[] {
  db.pragma('foreign_keys = OFF');
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`);
  const run = db.transaction(() => {
    const done = new Set(
      db
        .prepare<[], { version: number }>('SELECT version FROM schema_migrations')
        .all()
        .map((r) => r.version),
    );
    const applied: number[] = [];
    for (const migration of SQLITE_MIGRATIONS) {
      if (done.has(migration.version)) continue;
      db.exec(migration.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        migration.version,
        migration.name,
        Math.floor(Date.now() / 1000),
      );
      applied.push(migration.version);
    }
    const broken = applied.length > 0 ? foreignKeyProblems(db) : [];
    if (broken.length > 0) {
      throw new Error(`migration left ${broken.length} rows whose key has no parent (first: ${broken[0] ?? ''})`);
    }
    // A batch is always collecting: created here once, then by each release.
    const now = Math.floor(Date.now() / 1000);
    db.prepare<[string, number]>(
      `INSERT INTO batches (batch_id, created_at, session_count)
       SELECT ?, ?, 0 WHERE NOT EXISTS (SELECT 1 FROM batches WHERE released_at IS NULL)`,
    ).run(newBatchId(now), now);
    return applied;
  });
  return run.immediate();
}
