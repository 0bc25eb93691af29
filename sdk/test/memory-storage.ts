/**
 * A Storage (the Web Storage interface that localStorage implements) kept in memory, for tests in Node:
 * several clients given the same one share it as the tabs of one origin share localStorage.
 */
export function memoryStorage(): Storage {
  const entries = new Map<string, string>();
  const storage = {
    get length() {
      return entries.size;
    },
    clear: () => {
      entries.clear();
    },
    getItem: (key: string) => entries.get(key) ?? null,
    key: (index: number) => [...entries.keys()][index] ?? null,
    removeItem: (key: string) => {
      entries.delete(key);
    },
    setItem: (key: string, value: string) => {
      entries.set(key, value);
    },
  };
  return storage;
}
