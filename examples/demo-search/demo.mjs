// The demo search page: a catalog searched in the page, each search registered with the SDK and each click
// recorded on it. A result opens the item's page (?item=...), so the click that leaves the page is sent by
// the SDK's beacon. The collector serves this page at /demo (CLICKSTREAM_DEMO=1) and the SDK at
// /sdk/clickstream.min.js; `?endpoint=` and `?key=` point it at another collector or give an ingest key.
const params = new URLSearchParams(location.search);
// `?endpoint=` must be an http(s) origin: the SDK's script is loaded from it, so nothing else is taken.
const given = params.get('endpoint');
const endpoint =
  given && /^https?:$/.test(new URL(given, location.href).protocol) ? new URL(given).origin : location.origin;
// `?key=` is kept for this tab only and taken out of the address, so that it does not end up in links and history.
if (params.has('key')) {
  sessionStorage.setItem('demo-key', params.get('key'));
  params.delete('key');
  history.replaceState(null, '', `${location.pathname}?${params}`);
}
const key = sessionStorage.getItem('demo-key') ?? undefined;

await new Promise((resolve, reject) => {
  const script = document.createElement('script');
  script.src = `${endpoint}/sdk/clickstream.min.js`;
  script.onload = resolve;
  script.onerror = () => reject(new Error(`could not load the SDK from ${script.src}`));
  document.head.append(script);
});

const { createClient, version } = window.Clickstream;
const client = createClient({ endpoint, ...(key ? { key } : {}) });
const problems = [];
client.on('error', (problem) => {
  problems.push(problem);
  console.warn('clickstream: an item was dropped', problem);
});
const catalog = await (await fetch(new URL('catalog.json', import.meta.url))).json();
const byId = new Map(catalog.map((item) => [item.id, item]));

/** Scores every item by the query's words found in its fields; the best ten, best first. */
function find(query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  return catalog
    .map((item) => {
      const fields = [item.title.toLowerCase(), item.category, item.color, item.material, item.brand.toLowerCase()];
      const score = words.reduce((sum, word) => sum + fields.filter((field) => field.includes(word)).length, 0);
      return { item, score: words.length === 0 ? 0 : score / (words.length * 2) };
    })
    .filter((hit) => hit.score > 0)
    .sort((a, b) => b.score - a.score || a.item.id.localeCompare(b.item.id))
    .slice(0, 10);
}

/** Runs a search: registers it with its results in the order shown, and renders them. */
function search(query) {
  const hits = find(query);
  const registered = client.search({
    query,
    results: hits.map((hit) => ({ object_id: hit.item.id, rank: Number(hit.score.toFixed(4)) })),
    meta: { page: 'demo', sdk: version },
  });
  const list = document.getElementById('results');
  list.replaceChildren(
    ...hits.map(({ item }) => {
      const link = Object.assign(document.createElement('a'), { textContent: item.title });
      const target = new URLSearchParams(params);
      target.set('item', item.id);
      target.set('session', registered.id);
      link.href = `?${target}`;
      link.dataset.objectId = item.id;
      // The click is queued, then the browser leaves the page: the SDK's pagehide beacon carries it.
      link.addEventListener('click', () => registered.click(item.id));
      const price = Object.assign(document.createElement('small'), { textContent: ` ${item.price.toFixed(2)} €` });
      const entry = document.createElement('li');
      entry.append(link, price);
      return entry;
    }),
  );
  document.getElementById('status').textContent =
    hits.length === 0 ? `No result for "${query}".` : `${hits.length} results (session ${registered.id})`;
  return registered;
}

/** The item's page: an add-to-cart event on the search the user came from. */
function showItem(id, sessionId) {
  const item = byId.get(id);
  if (!item) return;
  document.getElementById('search-form').hidden = true;
  document.getElementById('item').hidden = false;
  document.getElementById('item-title').textContent = item.title;
  document.getElementById('item-details').textContent =
    `${item.brand} · ${item.material} · ${item.color} · ${item.price.toFixed(2)} €`;
  const back = new URLSearchParams(params);
  back.delete('item');
  back.delete('session');
  document.getElementById('back').href = `?${back}`;
  document.getElementById('add-to-cart').addEventListener('click', () => {
    if (sessionId) client.session(sessionId).event('add_to_cart', id);
    document.getElementById('status').textContent = 'Added to cart.';
  });
}

document.getElementById('search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  window.demo.last = search(document.getElementById('query').value);
});
if (params.has('item')) showItem(params.get('item'), params.get('session'));

/** For tests and the console: the client, the searches, what was dropped. */
window.demo = { client, search, find, catalog, problems, last: null, ready: true };
