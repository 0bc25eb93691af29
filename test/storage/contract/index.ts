/**
 * The storage contract, written once and run on every backend: {@link describeStoreContract} registers
 * one suite per subject, each in a file of its own here (sessions, events, releases, reads, integrity,
 * tasks, events debugger records, lifecycle). Every case opens a fresh store through `open` and cleans it up afterwards, so cases depend
 * on neither each other nor their order. The cases compare domain objects, never rows.
 */
import { describe } from 'node:test';
import type { OpenTestStore } from './contract-helpers.js';
import { describeDebugEventContract } from './debug-event-contract.js';
import { describeEventContract } from './event-contract.js';
import { describeIntegrityContract } from './integrity-contract.js';
import { describeLifecycleContract } from './lifecycle-contract.js';
import { describeReadContract } from './read-contract.js';
import { describeReleaseContract } from './release-contract.js';
import { describeSessionContract } from './session-contract.js';
import { describeStatsContract } from './stats-contract.js';
import { describeTaskContract } from './task-contract.js';

export type { OpenedTestStore, OpenTestStore } from './contract-helpers.js';

/**
 * Registers the whole contract for one backend. `backend` names the suite in reports only; `open` opens a
 * new store on empty storage of its own (the real backend, never a mock) each time it is called.
 */
export function describeStoreContract(backend: string, open: OpenTestStore): void {
  describe(`storage contract: ${backend}`, () => {
    describe('sessions', () => {
      describeSessionContract(open);
    });
    describe('events', () => {
      describeEventContract(open);
    });
    describe('releases', () => {
      describeReleaseContract(open);
    });
    describe('reads', () => {
      describeReadContract(open);
    });
    describe('integrity', () => {
      describeIntegrityContract(open);
    });
    describe('fine-tuning tasks', () => {
      describeTaskContract(open);
    });
    describe('events debugger records', () => {
      describeDebugEventContract(open);
    });
    describe('batch analytics', () => {
      describeStatsContract(open);
    });
    describe('lifecycle', () => {
      describeLifecycleContract(open);
    });
  });
}
