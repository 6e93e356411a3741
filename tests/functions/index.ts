import './acme-fn/actions/echo.js';
import './acme-fn/actions/fetch-item.js';
import './acme-fn/actions/paginate-count.js';
import './acme-fn/actions/fail.js';
import './acme-fn/actions/loop.js';
import './acme-fn/actions/allocate.js';
import './acme-fn/actions/log-and-meta.js';
import './acme-fn/syncs/items.js';
