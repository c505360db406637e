// live.js - kreishub-web's live updates: follows /live (Server-Sent Events); on an item
// page it appends the timeline's new entries without a reload, on the catalogue it says
// how many messages came since the page was loaded.
//
// An event names a record ({"seq": N, "type": T, "item": ID}) and nothing a user wrote.
// The entries themselves come from the server's own page, fetched again with ?after=N
// (the timeline's entries after the last one shown: what is new, not the whole history
// again for every message) and parsed into an inert document (DOMParser runs no script;
// the text in it is escaped by the server): the same markup a reload shows, so that the
// timeline is rendered in one place only.
// Nothing here assigns innerHTML; new text is set with textContent.
'use strict';

(function () {
    if (!window.EventSource || !window.fetch || !window.DOMParser || !window.URL)
        return;                         // the page works without: reload to see more
    var timeline = document.getElementById('timeline');
    var main = document.querySelector('main');
    var url = '/live';
    if (timeline && timeline.dataset.item)
        url += '?item=' + encodeURIComponent(timeline.dataset.item);
    var busy = false, again = false, fresh = 0, notice = null;

    // The highest seq the timeline shows.
    function lastSeq () {
        var last = Number(timeline.dataset.seq) || 0;
        timeline.querySelectorAll('li[data-seq]').forEach(function (li) {
            last = Math.max(last, Number(li.dataset.seq) || 0);
        });
        return last;
    }

    // Appends the entries of the page as the server renders it now that are newer
    // than the last one shown. One fetch at a time; events meanwhile ask for one more.
    function merge () {
        if (busy) {
            again = true;
            return;
        }
        busy = true;
        var newer = new URL(location.href);
        newer.hash = '';
        newer.searchParams.set('after', String(lastSeq()));
        fetch(newer.href, { credentials: 'same-origin', cache: 'no-store' })
            .then(function (answer) {
                if (!answer.ok)
                    throw new Error('HTTP ' + answer.status);
                return answer.text();
            })
            .then(function (text) {
                var page = new DOMParser().parseFromString(text, 'text/html');
                var now = page.getElementById('timeline');
                var last = lastSeq();
                if (!now)
                    return;
                now.querySelectorAll('li[data-seq]').forEach(function (li) {
                    if ((Number(li.dataset.seq) || 0) > last) {
                        var entry = document.importNode(li, true);
                        entry.classList.add('new');
                        timeline.appendChild(entry);
                    }
                });
            })
            .catch(function () { /* the next event, or a reload, tries again */ })
            .then(function () {
                busy = false;
                if (again) {
                    again = false;
                    merge();
                }
            });
    }

    // Says on the catalogue how many messages came since it was loaded.
    function announce () {
        fresh++;
        if (!notice) {
            notice = document.createElement('p');
            notice.className = 'live-notice';
            notice.setAttribute('role', 'status');
            var text = document.createElement('span');
            var link = document.createElement('a');
            link.href = location.href;
            link.textContent = 'Seite neu laden';
            notice.appendChild(text);
            notice.appendChild(document.createTextNode(' – '));
            notice.appendChild(link);
            if (main)
                main.insertBefore(notice, main.firstChild);
        }
        notice.firstChild.textContent = fresh === 1
            ? 'Eine neue Nachricht seit dem Laden dieser Seite'
            : fresh + ' neue Nachrichten seit dem Laden dieser Seite';
    }

    var source = new EventSource(url);
    // On (re)connecting, fetch once: what came between the page and the stream.
    source.addEventListener('open', function () {
        if (timeline)
            merge();
    });
    source.addEventListener('record', function (event) {
        var data;
        try {
            data = JSON.parse(event.data);
        } catch (e) {
            return;
        }
        if (timeline) {
            if ((Number(data.seq) || 0) > lastSeq())
                merge();
        }
        else
            announce();
    });
})();
