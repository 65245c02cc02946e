/*
 * Site search: lunr.js over the sharded payload written by generator/search.py.
 *
 * The first half (the "core") mirrors generator/search.py line for line: the trimmer,
 * shard unpacking, query preparation, fallback and cross-shard scoring. Python and
 * JavaScript must agree; tests/test_search_agreement.py runs the same queries in both.
 * Under Node the core is exported; in a browser the page behaviour is started.
 */
(function (root, factory) {
  'use strict';
  var core = factory(root.lunr);
  if (typeof module === 'object' && module.exports) {
    module.exports = core;
  } else if (typeof document !== 'undefined') {
    root.SurveySearch = core;
    core.startPage(root, document);
  }
}(typeof globalThis !== 'undefined' ? globalThis : this, function (lunr) {
  'use strict';

  var K1 = 1.2;
  var B = 0.75;
  var MAX_QUERY_CHARS = 256;
  var MAX_EDIT_DISTANCE = 2;
  var TRIMMER_NAME = 'surveyTrimmer';
  var DATA_GLOBAL = 'SurveySearchData';
  var TEXT_COLUMN = { title: 0, abstract: 4 };  // store columns holding the indexed text
  // Union of Python's str.isspace() and JavaScript's \s (see generator/search.py).
  var SPACE_RE = /[\t\n\v\f\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]+/g;
  var LEADING_RE = /^[^\p{L}\p{N}_]+/u;
  var TRAILING_RE = /[^\p{L}\p{N}_]+$/u;
  var WORD_RE = /^[\p{L}\p{N}_]$/u;
  var EDIT_RE = /~([0-9]+)/g;
  var STARS_RE = /\*{2,}/g;

  /* ---------------------------------------------------------- text and pipeline */

  function wellFormed(text) {
    if (typeof text.toWellFormed === 'function') return text.toWellFormed();
    var out = '';
    for (var i = 0; i < text.length; i++) {
      var unit = text.charCodeAt(i);
      var next = text.charCodeAt(i + 1);
      if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        out += text[i] + text[i + 1];
        i += 1;
      } else {
        out += unit >= 0xd800 && unit <= 0xdfff ? '\ufffd' : text[i];
      }
    }
    return out;
  }

  function normalizeText(text) {
    return wellFormed(String(text)).normalize('NFC').replace(SPACE_RE, ' ').replace(/^ +| +$/g, '');
  }

  function trimWord(text) {
    var trimmed = text.replace(LEADING_RE, '').replace(TRAILING_RE, '');
    return trimmed === '' ? text : trimmed;
  }

  function surveyTrimmer(token) {
    return token.update(function (text) { return trimWord(text); });
  }

  if (lunr && !lunr.Pipeline.registeredFunctions[TRIMMER_NAME]) {
    lunr.Pipeline.registerFunction(surveyTrimmer, TRIMMER_NAME);
  }

  function codePoints(text) {
    return Array.from(text);
  }

  function tokenEnd(points, start) {
    var end = start;
    while (end < points.length && points[end] !== ' ' && points[end] !== '-') end += 1;
    return end;
  }

  /* ---------------------------------------------------------- scoring helpers */

  function jsRound(value) {
    var scaled = value * 1000;
    var floor = Math.floor(scaled);
    return (scaled - floor >= 0.5 ? floor + 1 : floor) / 1000;
  }

  function idf(df, total) {
    return Math.log(1 + Math.abs((total - df + 0.5) / (df + 0.5)));
  }

  function weight(idfValue, tf, length, avg, boost) {
    var score = idfValue * ((K1 + 1) * tf) / (K1 * (1 - B + B * (length / avg)) + tf);
    return jsRound(score * boost);
  }

  /* ---------------------------------------------------------- unpacking a shard */

  function decodePositions(stream) {
    var out = new Map();
    var at = 0;
    var entry = -1;
    while (at < stream.length) {
      entry += stream[at];
      var count = stream[at + 1];
      var starts = [];
      var previous = 0;
      for (var k = 0; k < count; k++) {
        previous += stream[at + 2 + k];
        starts.push(previous);
      }
      out.set(entry, starts);
      at += 2 + count;
    }
    return out;
  }

  /** Return flat [term, doc, tf, term, doc, tf, ...] from one posting stream. */
  function decodePostings(stream) {
    var out = [];
    var at = 0;
    var term = -1;
    while (at < stream.length) {
      term += stream[at];
      var count = stream[at + 1];
      var doc = -1;
      at += 2;
      for (var k = 0; k < count; k++) {
        var delta = stream[at];
        var tf = 1;
        if (delta < 0) {
          delta = -delta;
          tf = stream[at + 1];
          at += 1;
        }
        doc += delta;
        out.push(term, doc, tf);
        at += 1;
      }
    }
    return out;
  }

  function localDf(decoded, count) {
    var df = new Array(count).fill(0);
    decoded.forEach(function (flat) {
      for (var at = 0; at < flat.length; at += 3) df[flat[at]] += 1;
    });
    return df;
  }

  // lunr.js copies posting metadata into MatchData and never mutates it, so postings
  // without positions can share one empty object.
  var NO_METADATA = Object.freeze({});

  function positionMetadata(points, starts) {
    return {
      position: starts.map(function (s) { return [s, tokenEnd(points, s) - s]; })
    };
  }

  function newPosting(t, names) {
    var posting = { _index: t };
    for (var f = 0; f < names.length; f++) posting[names[f]] = {};
    return posting;
  }

  /** Expand a compact shard into lunr's serialized index (see generator/search.py). */
  function unpackShard(shard, fields) {
    var names = fields.map(function (field) { return field.name; });
    var terms = shard.terms ? shard.terms.split(' ') : [];
    var refs = [];
    for (var i = 0; i < shard.n; i++) refs.push((shard.start + i).toString(36));
    var decoded = shard.post.map(decodePostings);
    var df = shard.df || localDf(decoded, terms.length);
    var idfs = df.map(function (count) { return idf(count, shard.N); });
    var postings = terms.map(function (term, t) { return newPosting(t, names); });
    var vectors = refs.map(function () { return names.map(function () { return []; }); });
    fields.forEach(function (field, f) {
      var positions = decodePositions(shard.pos[f]);
      var column = TEXT_COLUMN[field.name];
      var points = [];
      var flat = decoded[f];
      for (var at = 0, entry = 0; at < flat.length; at += 3, entry++) {
        var t = flat[at];
        var doc = flat[at + 1];
        var starts = positions.get(entry);
        var meta = NO_METADATA;
        if (starts && column !== undefined) {
          if (!points[doc]) points[doc] = codePoints(shard.docs[doc][column] || '');
          meta = positionMetadata(points[doc], starts);
        }
        postings[t][field.name][refs[doc]] = meta;
        var length = shard.len[doc * names.length + f];
        vectors[doc][f].push(t, weight(idfs[t], flat[at + 2], length, shard.avg[f], field.boost));
      }
    });
    var fieldVectors = [];
    refs.forEach(function (ref, doc) {
      names.forEach(function (name, f) { fieldVectors.push([name + '/' + ref, vectors[doc][f]]); });
    });
    return {
      version: lunr.version,
      fields: names,
      fieldVectors: fieldVectors,
      invertedIndex: terms.map(function (term, t) { return [term, postings[t]]; }),
      pipeline: [TRIMMER_NAME, 'stemmer']
    };
  }

  /** Parse shard JSON and load it into lunr.js: {index, docs, start}. */
  function loadShard(json, manifest) {
    var shard = typeof json === 'string' ? JSON.parse(json) : json;
    return {
      index: lunr.Index.load(unpackShard(shard, manifest.fields)),
      docs: shard.docs,
      start: shard.start
    };
  }

  /* ---------------------------------------------------------- querying */

  function prepareQuery(query) {
    var text = codePoints(normalizeText(query)).slice(0, MAX_QUERY_CHARS).join('');
    return text.replace(STARS_RE, '*').replace(EDIT_RE, function (match, digits) {
      return '~' + Math.min(parseInt(digits, 10), MAX_EDIT_DISTANCE);
    });
  }

  function buildQuery(query, text, plain) {
    if (!plain) {
      new lunr.QueryParser(text, query).parse();
      return query;
    }
    lunr.tokenizer(text).forEach(function (token) { query.term(token.toString()); });
    return query;
  }

  function queryWeights(index, text, plain) {
    var query = buildQuery(new lunr.Query(index.fields), text, plain);
    var weights = index.fields.map(function () { return new Map(); });
    query.clauses.forEach(function (clause) {
      if (clause.presence === lunr.Query.presence.PROHIBITED) return;
      var terms = clause.usePipeline ? index.pipeline.runString(clause.term) : [clause.term];
      terms.forEach(function (term) {
        clause.term = term;
        var expanded = index.tokenSet.intersect(lunr.TokenSet.fromClause(clause)).toArray();
        expanded.forEach(function (found) {
          index.fields.forEach(function (field, f) {
            if (clause.fields.indexOf(field) === -1) return;
            weights[f].set(found, (weights[f].get(found) || 0) + clause.boost);
          });
        });
      });
    });
    return weights;
  }

  function fieldDot(index, ref, field, weights) {
    var wanted = new Map();
    weights.forEach(function (boost, term) { wanted.set(index.invertedIndex[term]._index, boost); });
    var elements = index.fieldVectors[field + '/' + ref].elements;
    var dot = 0;
    for (var at = 0; at < elements.length; at += 2) {
      if (wanted.has(elements[at])) dot += wanted.get(elements[at]) * elements[at + 1];
    }
    return dot;
  }

  function norm(map) {
    var keys = Array.from(map.keys()).sort();
    var sum = 0;
    keys.forEach(function (key) { sum += map.get(key) * map.get(key); });
    return Math.sqrt(sum);
  }

  /** Give results of several shards the score one index over all of them would give. */
  function rescore(shards, text, plain, found) {
    var perShard = shards.map(function (s) { return queryWeights(s.index, text, plain); });
    var union = perShard[0].map(function () { return new Map(); });
    perShard.forEach(function (weights) {
      weights.forEach(function (map, f) {
        map.forEach(function (boost, term) { union[f].set(term, boost); });
      });
    });
    var norms = union.map(norm);
    shards.forEach(function (shard, s) {
      found[s].forEach(function (result) {
        var score = 0;
        shard.index.fields.forEach(function (field, f) {
          if (norms[f]) score += fieldDot(shard.index, result.ref, field, perShard[s][f]) / norms[f];
        });
        result.score = score;
      });
    });
  }

  function runAll(shards, text, plain) {
    return shards.map(function (shard) {
      return shard.index.query(function (query) { buildQuery(query, text, plain); });
    });
  }

  function merge(shards, found) {
    var merged = [];
    found.forEach(function (results, s) {
      results.forEach(function (result) {
        merged.push({ ref: result.ref, score: result.score, matchData: result.matchData, shard: shards[s] });
      });
    });
    return merged.sort(function (a, b) { return b.score - a.score; });
  }

  /**
   * Search loaded shards: {results, error}. Bad lunr syntax falls back to plain terms;
   * if that fails too, `error` is set and there are no results.
   */
  function searchShards(shards, query) {
    var text = prepareQuery(query);
    if (!text || !shards.length) return { results: [], error: null };
    var plain = false;
    var found;
    try {
      try {
        found = runAll(shards, text, plain);
      } catch (syntaxError) {
        plain = true;
        found = lunr.tokenizer(text).length ? runAll(shards, text, plain) : [];
      }
      if (shards.length > 1 && found.length) rescore(shards, text, plain, found);
      return { results: merge(shards, found), error: null };
    } catch (error) {
      return { results: [], error: error };
    }
  }

  /* ---------------------------------------------------------- highlighting */

  function isWord(point) {
    return WORD_RE.test(point);
  }

  function unitOffsets(points) {
    var offsets = [0];
    points.forEach(function (point, i) { offsets.push(offsets[i] + point.length); });
    return offsets;
  }

  /** Return merged UTF-16 [start, end) ranges for lunr positions (code points) in text. */
  function highlightRanges(text, positions) {
    var points = codePoints(text);
    var offsets = unitOffsets(points);
    var ranges = [];
    positions.forEach(function (position) {
      var start = Math.max(0, Math.min(points.length, position[0] | 0));
      var end = Math.max(start, Math.min(points.length, start + (position[1] | 0)));
      var s = start;
      var e = end;
      while (s < e && !isWord(points[s])) s += 1;
      while (e > s && !isWord(points[e - 1])) e -= 1;
      if (s === e) { s = start; e = end; }
      if (e > s) ranges.push([offsets[s], offsets[e]]);
    });
    ranges.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    var merged = [];
    ranges.forEach(function (range) {
      var last = merged[merged.length - 1];
      if (last && range[0] <= last[1]) last[1] = Math.max(last[1], range[1]);
      else merged.push(range.slice());
    });
    return merged;
  }

  function fieldPositions(matchData, field) {
    var out = [];
    var metadata = (matchData && matchData.metadata) || {};
    Object.keys(metadata).forEach(function (term) {
      var entry = metadata[term][field];
      if (entry && Array.isArray(entry.position)) out = out.concat(entry.position);
    });
    return out;
  }

  /* ---------------------------------------------------------- the page */

  function startPage(win, doc) {
    var page = new SearchPage(win, doc);
    if (doc.readyState === 'loading') {
      doc.addEventListener('DOMContentLoaded', function () { page.start(); });
    } else {
      page.start();
    }
    return page;
  }

  var DEBOUNCE_MS = 150;
  var PAGE_SIZE = 50;
  var DROPDOWN_SIZE = 6;
  var AUTO_LOAD_BYTES = 8 * 1024 * 1024;

  function SearchPage(win, doc) {
    this.win = win;
    this.doc = doc;
    this.manifest = null;
    this.shards = [];
    this.pending = null;
    this.loadedBytes = 0;
    this.limit = PAGE_SIZE;
    this.timer = null;
    this.generation = 0;
  }

  SearchPage.prototype.start = function () {
    var body = this.doc.body;
    // Always a relative prefix ("./" at the root), so stored urls can never become absolute.
    this.root = (body && body.getAttribute('data-root')) || './';
    if (this.root.slice(-1) !== '/') this.root += '/';
    this.el = {
      form: this.doc.getElementById('search-form'),
      q: this.doc.getElementById('search-q'),
      topic: this.doc.getElementById('search-topic'),
      year: this.doc.getElementById('search-year'),
      status: this.doc.getElementById('search-status'),
      results: this.doc.getElementById('search-results'),
      header: this.doc.getElementById('site-search-q')
    };
    this.headerForm = this.el.header ? this.el.header.form : null;
    this.bindSlashKey();
    if (this.el.header) this.bindHeader();
    if (this.el.form && this.el.q && this.el.results) this.startSearchPage();
  };

  /* ---- loading */

  SearchPage.prototype.data = function () {
    var data = this.win[DATA_GLOBAL];
    if (!data) data = this.win[DATA_GLOBAL] = {};
    return data;
  };

  SearchPage.prototype.addScript = function (path) {
    var self = this;
    return new Promise(function (resolve, reject) {
      var script = self.doc.createElement('script');
      script.src = self.root + path;
      script.async = true;
      script.onload = function () { resolve(); };
      script.onerror = function () { reject(new Error('could not load ' + path)); };
      self.doc.head.appendChild(script);
    });
  };

  SearchPage.prototype.loadManifest = function () {
    var self = this;
    if (this.manifest) return Promise.resolve(this.manifest);
    var ready = typeof this.data().manifest === 'string'
      ? Promise.resolve()
      : Promise.reject(new Error('the search manifest script is not on this page'));
    return ready.then(function () {
      if (!self.manifest) self.manifest = JSON.parse(self.data().manifest);
      return self.manifest;
    });
  };

  SearchPage.prototype.loadNextShard = function () {
    var self = this;
    if (this.pending) return this.pending;
    var number = this.shards.length;
    var entry = this.manifest.shards[number];
    if (!entry) return Promise.resolve(false);
    var key = 's' + number;
    var path = 'search/' + entry.file;
    var ready = typeof this.data()[key] === 'string' ? Promise.resolve() : this.addScript(path);
    this.pending = ready.then(function () {
      var json = self.data()[key];
      delete self.data()[key];
      self.shards.push(loadShard(json, self.manifest));
      self.loadedBytes += entry.bytes;
      self.pending = null;
      return true;
    }, function (error) {
      self.pending = null;
      throw error;
    });
    return this.pending;
  };

  /** Load the manifest and the first shard (newest papers). */
  SearchPage.prototype.ensureLoaded = function () {
    var self = this;
    return this.loadManifest().then(function () {
      return self.shards.length ? true : self.loadNextShard();
    });
  };

  SearchPage.prototype.moreShards = function () {
    return this.manifest && this.shards.length < this.manifest.shards.length;
  };

  SearchPage.prototype.searchedCount = function () {
    return this.shards.reduce(function (sum, shard) { return sum + shard.docs.length; }, 0);
  };

  /* ---- keyboard: "/" focuses the search box */

  SearchPage.prototype.bindSlashKey = function () {
    var self = this;
    this.doc.addEventListener('keydown', function (event) {
      if (event.key !== '/' || event.ctrlKey || event.metaKey || event.altKey) return;
      var target = event.target;
      var tag = target && target.tagName ? target.tagName.toLowerCase() : '';
      if (tag === 'input' || tag === 'textarea' || tag === 'select' || (target && target.isContentEditable)) return;
      var box = self.el.q || self.el.header;
      if (!box) return;
      event.preventDefault();
      box.focus();
      box.select();
    });
  };

  /* ---- the header box: a small dropdown; Enter submits to search.html?q= */

  SearchPage.prototype.bindHeader = function () {
    var self = this;
    var input = this.el.header;
    if (this.el.form && this.headerForm) {
      this.headerForm.addEventListener('submit', function (event) {
        event.preventDefault();
        self.el.q.value = input.value;
        self.runAndRecord(true);
        self.el.q.focus();
      });
      return;
    }
    if (!this.headerForm) return;
    this.dropdown = this.doc.createElement('div');
    this.dropdown.className = 'search-dropdown';
    this.dropdown.id = 'site-search-dropdown';
    this.dropdown.hidden = true;
    this.headerForm.appendChild(this.dropdown);
    // A text box that opens a popup is a combobox; aria-expanded is not allowed on a searchbox.
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-controls', this.dropdown.id);
    input.setAttribute('aria-expanded', 'false');
    input.addEventListener('focus', function () { self.ensureLoaded().catch(function () {}); });
    input.addEventListener('input', function () { self.debounce(function () { self.updateDropdown(); }); });
    input.addEventListener('keydown', function (event) { self.headerKey(event); });
    this.dropdown.addEventListener('keydown', function (event) { self.dropdownKey(event); });
    this.headerForm.addEventListener('focusout', function (event) {
      if (!event.relatedTarget || !self.headerForm.contains(event.relatedTarget)) self.hideDropdown();
    });
  };

  SearchPage.prototype.debounce = function (fn) {
    if (this.timer) this.win.clearTimeout(this.timer);
    this.timer = this.win.setTimeout(fn, DEBOUNCE_MS);
  };

  SearchPage.prototype.hideDropdown = function () {
    if (!this.dropdown) return;
    this.dropdown.hidden = true;
    this.el.header.setAttribute('aria-expanded', 'false');
  };

  SearchPage.prototype.headerKey = function (event) {
    if (event.key === 'Escape') {
      this.hideDropdown();
    } else if (event.key === 'ArrowDown' && !this.dropdown.hidden) {
      var first = this.dropdown.querySelector('a');
      if (first) { event.preventDefault(); first.focus(); }
    }
  };

  SearchPage.prototype.dropdownKey = function (event) {
    var links = Array.prototype.slice.call(this.dropdown.querySelectorAll('a'));
    var at = links.indexOf(this.doc.activeElement);
    if (event.key === 'Escape') {
      event.preventDefault();
      this.hideDropdown();
      this.el.header.focus();
    } else if (event.key === 'ArrowDown' && at < links.length - 1) {
      event.preventDefault();
      links[at + 1].focus();
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      if (at > 0) links[at - 1].focus(); else this.el.header.focus();
    }
  };

  SearchPage.prototype.updateDropdown = function () {
    var self = this;
    var query = this.el.header.value;
    var generation = ++this.generation;
    if (!prepareQuery(query)) { this.hideDropdown(); return; }
    this.ensureLoaded().then(function () {
      if (generation !== self.generation) return;
      var outcome = searchShards(self.shards, query);
      self.renderDropdown(query, outcome);
    }, function () {
      self.renderDropdown(query, { results: [], error: new Error('load') });
    });
  };

  SearchPage.prototype.renderDropdown = function (query, outcome) {
    var doc = this.doc;
    var list = doc.createElement('ul');
    list.className = 'search-dropdown-list';
    var self = this;
    outcome.results.slice(0, DROPDOWN_SIZE).forEach(function (result) {
      var item = doc.createElement('li');
      item.className = 'search-dropdown-item';
      item.appendChild(self.resultLink(result));
      list.appendChild(item);
    });
    var more = doc.createElement('li');
    more.className = 'search-dropdown-all';
    var link = doc.createElement('a');
    link.href = this.searchUrl({ q: query });
    link.textContent = outcome.error ? 'Search failed; open the search page'
      : outcome.results.length ? 'All ' + outcome.results.length + (outcome.results.length === 1 ? ' result' : ' results')
        : 'No results; open the search page';
    more.appendChild(link);
    list.appendChild(more);
    this.dropdown.replaceChildren(list);
    this.dropdown.hidden = false;
    this.el.header.setAttribute('aria-expanded', 'true');
  };

  SearchPage.prototype.searchUrl = function (params) {
    var query = new URLSearchParams();
    Object.keys(params).forEach(function (key) { if (params[key]) query.set(key, params[key]); });
    return this.root + 'search.html?' + query.toString();
  };

  /* ---- the search page */

  SearchPage.prototype.startSearchPage = function () {
    var self = this;
    var el = this.el;
    this.actions = this.doc.createElement('div');
    this.actions.className = 'search-actions';
    el.results.parentNode.insertBefore(this.actions, el.results.nextSibling);
    this.readUrl();
    el.form.addEventListener('submit', function (event) {
      event.preventDefault();
      self.runAndRecord(true);
    });
    el.q.addEventListener('input', function () {
      self.debounce(function () { self.runAndRecord(false); });
    });
    [el.topic, el.year].forEach(function (select) {
      if (select) select.addEventListener('change', function () { self.runAndRecord(true); });
    });
    this.win.addEventListener('popstate', function () {
      self.readUrl();
      self.run();
    });
    this.loadManifest().then(function () {
      self.fillFilters();
      self.readFilters();
      if (prepareQuery(el.q.value)) self.run(); else self.setStatus(self.idleMessage());
    }, function () {
      self.setStatus('The search index could not be loaded.');
    });
  };

  SearchPage.prototype.params = function () {
    return {
      q: this.el.q.value,
      topic: this.el.topic ? this.el.topic.value : '',
      year: this.el.year ? this.el.year.value : ''
    };
  };

  SearchPage.prototype.readUrl = function () {
    var params = new URLSearchParams(this.win.location.search);
    this.el.q.value = params.get('q') || '';
    if (this.el.header) this.el.header.value = this.el.q.value;
    this.readFilters();
  };

  SearchPage.prototype.readFilters = function () {
    var params = new URLSearchParams(this.win.location.search);
    this.setSelect(this.el.topic, params.get('topic') || '');
    this.setSelect(this.el.year, params.get('year') || '');
  };

  SearchPage.prototype.setSelect = function (select, value) {
    if (!select) return;
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === value; });
    select.value = known ? value : '';
  };

  SearchPage.prototype.writeUrl = function (push) {
    var search = this.searchUrl(this.params()).split('?')[1];
    var current = this.win.location.search.replace(/^\?/, '');
    if (search === current) return;
    var url = search ? '?' + search : this.win.location.pathname;
    try {
      this.win.history[push ? 'pushState' : 'replaceState'](null, '', url);
    } catch (error) {
      /* some browsers refuse history changes on file:// pages; the search still works */
    }
  };

  SearchPage.prototype.fillFilters = function () {
    this.fillSelect(this.el.topic, 'All topics', this.manifest.topics);
    this.fillSelect(this.el.year, 'All years', this.manifest.years.map(String));
  };

  SearchPage.prototype.fillSelect = function (select, label, values) {
    if (!select) return;
    var doc = this.doc;
    var current = select.value;
    var options = [['', label]].concat(values.map(function (v) { return [v, v]; }));
    select.replaceChildren.apply(select, options.map(function (pair) {
      var option = doc.createElement('option');
      option.value = pair[0];
      option.textContent = pair[1];
      return option;
    }));
    this.setSelect(select, current);
  };

  SearchPage.prototype.runAndRecord = function (push) {
    this.limit = PAGE_SIZE;
    this.writeUrl(push);
    this.run();
  };

  SearchPage.prototype.idleMessage = function () {
    var n = this.manifest ? this.manifest.n : 0;
    return n ? 'Type to search ' + n.toLocaleString('en-US') + ' papers.' : '';
  };

  SearchPage.prototype.run = function () {
    var self = this;
    var query = this.el.q.value;
    var generation = ++this.generation;
    if (!prepareQuery(query)) {
      this.clearResults();
      this.setStatus(this.idleMessage());
      return Promise.resolve();
    }
    if (!this.shards.length) this.setStatus('Loading the search index\u2026');
    return this.ensureLoaded().then(function () {
      if (generation === self.generation) self.show(query);
      return self.autoLoad(generation);
    }).catch(function () {
      if (generation === self.generation) self.setStatus('The search index could not be loaded.');
    });
  };

  /** Keep loading older shards in the background while the payload stays small. */
  SearchPage.prototype.autoLoad = function (generation) {
    var self = this;
    if (!this.moreShards() || this.loadedBytes >= AUTO_LOAD_BYTES) return Promise.resolve();
    return this.loadNextShard().then(function () {
      if (generation === self.generation) self.show(self.el.q.value);
      return self.autoLoad(generation);
    });
  };

  SearchPage.prototype.filtered = function (results) {
    var params = this.params();
    var topic = params.topic ? this.manifest.topics.indexOf(params.topic) : -1;
    var year = params.year ? Number(params.year) : null;
    var self = this;
    return results.filter(function (result) {
      var row = self.row(result);
      if (topic !== -1 && row[3].indexOf(topic) === -1) return false;
      return year === null || row[2] === year;
    });
  };

  SearchPage.prototype.show = function (query) {
    var outcome = searchShards(this.shards, query);
    this.clearResults();
    if (outcome.error) {
      this.setStatus('Sorry, this search could not be run. Try other words.');
      return;
    }
    var results = this.filtered(outcome.results);
    var shown = results.slice(0, this.limit);
    var self = this;
    var items = shown.map(function (result) { return self.resultItem(result); });
    this.el.results.replaceChildren.apply(this.el.results, items);
    this.setStatus(this.statusText(query, results.length, shown.length));
    if (results.length > shown.length) this.addAction('Show more results', 'search-show-more', function () {
      self.limit += PAGE_SIZE;
      self.show(self.el.q.value);
    });
    if (this.moreShards()) this.addAction('Search older papers', 'search-older', function () {
      self.loadNextShard().then(function () { self.show(self.el.q.value); }, function () {
        self.setStatus('The search index could not be loaded.');
      });
    });
  };

  SearchPage.prototype.statusText = function (query, count, shown) {
    var params = this.params();
    var scope = [params.topic, params.year].filter(Boolean).join(', ');
    var quoted = '\u201c' + prepareQuery(query) + '\u201d';
    var text = count === 0 ? 'No results for ' + quoted
      : count + (count === 1 ? ' result for ' : ' results for ') + quoted;
    if (scope) text += ' in ' + scope;
    text += '.';
    if (shown < count) text += ' Showing the first ' + shown + '.';
    if (count === 0 && scope) text += ' Try \u201cAll topics\u201d or \u201cAll years\u201d.';
    if (this.moreShards()) {
      text += ' Searched the newest ' + this.searchedCount().toLocaleString('en-US') + ' of ' +
        this.manifest.n.toLocaleString('en-US') + ' papers.';
    }
    return text;
  };

  SearchPage.prototype.setStatus = function (text) {
    if (this.el.status) this.el.status.textContent = text;
  };

  SearchPage.prototype.clearResults = function () {
    this.el.results.replaceChildren();
    if (this.actions) this.actions.replaceChildren();
  };

  SearchPage.prototype.addAction = function (label, className, onClick) {
    var button = this.doc.createElement('button');
    button.type = 'button';
    button.className = className;
    button.textContent = label;
    button.addEventListener('click', onClick);
    this.actions.appendChild(button);
  };

  /* ---- rendering one result (DOM APIs and textContent only) */

  SearchPage.prototype.row = function (result) {
    return result.shard.docs[parseInt(result.ref, 36) - result.shard.start];
  };

  SearchPage.prototype.marked = function (element, text, positions) {
    var doc = this.doc;
    var at = 0;
    highlightRanges(text, positions).forEach(function (range) {
      if (range[0] > at) element.appendChild(doc.createTextNode(text.slice(at, range[0])));
      var mark = doc.createElement('mark');
      mark.textContent = text.slice(range[0], range[1]);
      element.appendChild(mark);
      at = range[1];
    });
    if (at < text.length) element.appendChild(doc.createTextNode(text.slice(at)));
    return element;
  };

  SearchPage.prototype.resultLink = function (result) {
    var row = this.row(result);
    var link = this.doc.createElement('a');
    link.href = this.root + row[1];
    return this.marked(link, row[0], fieldPositions(result.matchData, 'title'));
  };

  SearchPage.prototype.resultItem = function (result) {
    var doc = this.doc;
    var row = this.row(result);
    var item = doc.createElement('li');
    item.className = 'search-result';
    var heading = doc.createElement('h2');
    heading.className = 'search-result-title';
    heading.appendChild(this.resultLink(result));
    item.appendChild(heading);
    var meta = doc.createElement('p');
    meta.className = 'search-meta';
    var topics = row[3].map(function (t) { return this.manifest.topics[t]; }, this);
    meta.textContent = [row[5] || (row[2] === null ? '' : String(row[2])), topics.join(', ')]
      .filter(Boolean).join(' \u00b7 ');
    item.appendChild(meta);
    if (row[4]) {
      var excerpt = doc.createElement('p');
      excerpt.className = 'search-excerpt';
      item.appendChild(this.marked(excerpt, row[4], fieldPositions(result.matchData, 'abstract')));
    }
    return item;
  };

  return {
    version: 1,
    normalizeText: normalizeText,
    trimWord: trimWord,
    unpackShard: unpackShard,
    loadShard: loadShard,
    prepareQuery: prepareQuery,
    searchShards: searchShards,
    highlightRanges: highlightRanges,
    startPage: startPage
  };
}));
