/* Progressive enhancement for paper lists: sort and filter in place, no page reload.
   Works on data-* attributes already in the HTML; builds controls with DOM APIs only. */
(function () {
  "use strict";
  var list = document.getElementById("paper-list");
  if (!list) { return; }
  var items = Array.prototype.slice.call(list.querySelectorAll("li.paper-item"));
  var original = items.slice();

  function option(select, value, label) {
    var opt = document.createElement("option");
    opt.value = value;
    opt.textContent = label;
    select.appendChild(opt);
  }

  function labelled(text, control, id) {
    var label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = text;
    control.id = id;
    return [label, control];
  }

  function compare(key) {
    return function (a, b) {
      if (key === "upvotes") { return Number(b.dataset.upvotes) - Number(a.dataset.upvotes) || original.indexOf(a) - original.indexOf(b); }
      if (key === "title") { return a.dataset.title < b.dataset.title ? -1 : a.dataset.title > b.dataset.title ? 1 : 0; }
      return original.indexOf(a) - original.indexOf(b);
    };
  }

  var sort = document.createElement("select");
  option(sort, "page", "As listed");
  option(sort, "upvotes", "Most upvoted");
  option(sort, "title", "Title");
  var year = document.createElement("select");
  option(year, "", "All years");
  var years = [];
  items.forEach(function (li) { if (years.indexOf(li.dataset.year) < 0) { years.push(li.dataset.year); } });
  years.sort().reverse().forEach(function (y) { option(year, y, y || "Year unknown"); });
  var code = document.createElement("input");
  code.type = "checkbox";
  var status = document.createElement("p");
  status.setAttribute("role", "status");
  status.className = "count";

  function apply() {
    var shown = 0;
    items.slice().sort(compare(sort.value)).forEach(function (li) {
      var visible = (!code.checked || li.dataset.code === "1") && (year.value === "" || li.dataset.year === year.value);
      li.hidden = !visible;
      if (visible) { shown += 1; }
      list.appendChild(li);
    });
    status.textContent = shown + " of " + items.length + " papers shown";
  }

  var tools = document.createElement("div");
  tools.className = "list-tools";
  [].concat(labelled("Order", sort, "tool-sort"), labelled("Year", year, "tool-year"), labelled("Only with code", code, "tool-code"))
    .forEach(function (el) { tools.appendChild(el); });
  tools.appendChild(status);
  [sort, year, code].forEach(function (el) { el.addEventListener("change", apply); });
  list.parentNode.insertBefore(tools, list);
})();
