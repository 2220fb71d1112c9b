"""A fake Binance spot exchange on 127.0.0.1: the REST subset ccxt's ``binance`` calls.

Endpoints (under ``/api/v3``): ``time``, ``exchangeInfo`` (LOT_SIZE, PRICE_FILTER, NOTIONAL
filters), ``ticker/24hr``, ``ticker/price``, ``account`` (balances), ``order`` POST (with
``newClientOrderId``, ``newOrderRespType`` FULL), GET and DELETE (by ``origClientOrderId``)
and ``myTrades``. Private requests must carry the API key header and a valid HMAC-SHA256
signature of the query (checked with the test secret). Fees are charged in the quote asset.

Faults, per symbol, consumed in order (``plan(symbol, *faults)``): 'reject' (-2010),
'partial' (a market order fills half and expires), 'delay' (answer late, after executing),
'hang' (never answer, never execute), 'drop' (execute, then close the connection without an
answer), 'rate_limit' (HTTP 429, nothing executed), 'rest' (a limit order rests unfilled),
'corrupt' (execute, answer ten times the executed quantity), 'misreport' (execute, answer
with another market's symbol).
The server runs its own event loop in a thread, so synchronous tests and subprocesses can
use it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import threading
import time
from collections import defaultdict, deque
from decimal import Decimal
from urllib.parse import parse_qsl

from aiohttp import web

API_KEY = "test-key"
SECRET = "test-secret"


def ccxt_config(url: str) -> dict:
    """ccxt ``binance`` settings for the fake at ``url``: spot markets only, test keys, and
    every API family ccxt knows sent to the fake (unfaked ones answer 404), so no request can
    leave the machine whatever ccxt decides to call."""
    import ccxt

    api = {key: f"{url}/api/v3/unfaked/{key}" for key in ccxt.binance().urls["api"]}
    api.update(public=f"{url}/api/v3", private=f"{url}/api/v3")
    return {
        "apiKey": API_KEY,
        "secret": SECRET,
        "urls": {"api": api},
        "options": {
            "defaultType": "spot",
            "fetchMarkets": ["spot"],
            "fetchCurrencies": False,
            "fetchMargins": False,
        },
        "enableRateLimit": False,
        "timeout": 10_000,
    }


def _dec(x) -> Decimal:
    return Decimal(str(x))


class FakeBinance:
    """The exchange's books: balances, markets, orders; fault plans per symbol.

    Args:
        markets: 'BTC/USDT' -> {'price', 'step', 'tick', 'min_qty', 'min_notional'}.
        balances: asset -> free amount.
        fee_rate: commission as a fraction of notional, charged in the quote asset.
        buy_fee_in_base: charge a BUY's commission in the base asset received (Binance's
            default without BNB), as ``fee_rate`` of the quantity.
        delay: seconds a 'delay' fault waits before answering.
    """

    def __init__(
        self, markets: dict, balances: dict, fee_rate: float = 0.001, delay=0.3,
        buy_fee_in_base: bool = False,
    ):  # fmt: skip
        self.buy_fee_in_base = buy_fee_in_base
        self.markets = {s.replace("/", ""): {"symbol": s, **m} for s, m in markets.items()}
        self.balances = defaultdict(Decimal, {a: _dec(v) for a, v in balances.items()})
        self.fee_rate = _dec(fee_rate)
        self.delay = delay
        self.orders: dict[str, dict] = {}  # clientOrderId -> order
        self.trades: list[dict] = []
        self.faults: dict[str, deque] = defaultdict(deque)
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.posted: list[str] = []  # clientOrderId of every order POST received
        self._ids = itertools.count(1)
        self.lock = threading.Lock()
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- test side -------------------------------------------------------------------------
    def plan(self, symbol: str, *faults: str) -> None:
        """Queue faults for the next order requests of ``symbol`` ('BTC/USDT')."""
        with self.lock:
            self.faults[symbol.replace("/", "")].extend(faults)

    def balance(self, asset: str) -> float:
        with self.lock:
            return float(self.balances[asset])

    def set_price(self, symbol: str, price: float) -> None:
        with self.lock:
            self.markets[symbol.replace("/", "")]["price"] = price

    def ccxt_config(self) -> dict:
        """Arguments for ``ccxt.async_support.binance`` pointing at this server."""
        return ccxt_config(self.url)

    def start(self) -> FakeBinance:
        ready = threading.Event()

        def serve() -> None:
            loop = self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            app = web.Application()
            app.router.add_route("*", "/api/v3/{path:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            loop.run_until_complete(site.start())
            port = site._server.sockets[0].getsockname()[1]
            self.url = f"http://127.0.0.1:{port}"
            ready.set()
            loop.run_forever()
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:  # handlers still hanging or delaying
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    # --- server side -----------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        self.requests.append((request.method, path))
        params = dict(request.query)
        raw = request.query_string
        if request.method in ("POST", "PUT"):
            body = await request.text()
            params.update(parse_qsl(body))
            raw = body
        public = {"time", "exchangeInfo", "ticker/24hr", "ticker/price", "ping"}
        if path not in public:
            problem = self._authenticate(request, raw)
            if problem:
                return web.json_response({"code": -1022, "msg": problem}, status=400)
        handler = {
            ("GET", "time"): self._time,
            ("GET", "ping"): lambda p: {},
            ("GET", "exchangeInfo"): self._exchange_info,
            ("GET", "ticker/24hr"): self._ticker,
            ("GET", "ticker/price"): self._ticker,
            ("GET", "account"): self._account,
            ("GET", "order"): self._get_order,
            ("DELETE", "order"): self._cancel,
            ("GET", "myTrades"): self._my_trades,
        }.get((request.method, path))
        if request.method == "POST" and path == "order":
            return await self._post_order(request, params)
        if handler is None:
            return web.json_response({"code": -1, "msg": f"not faked: {path}"}, status=404)
        with self.lock:
            result = handler(params)
        if isinstance(result, web.Response):
            return result
        return web.json_response(result)

    @staticmethod
    def _authenticate(request: web.Request, raw: str) -> str | None:
        if request.headers.get("X-MBX-APIKEY") != API_KEY:
            return "API-key format invalid."
        payload, _, signature = raw.rpartition("&signature=")
        expected = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            return "Signature for this request is not valid."
        return None

    def _time(self, params) -> dict:
        return {"serverTime": int(time.time() * 1000)}

    def _exchange_info(self, params) -> dict:
        symbols = []
        for sid, m in self.markets.items():
            base, quote = m["symbol"].split("/")
            symbols.append(
                {
                    "symbol": sid, "status": "TRADING", "baseAsset": base,
                    "baseAssetPrecision": 8, "quoteAsset": quote, "quotePrecision": 8,
                    "quoteAssetPrecision": 8, "orderTypes": ["LIMIT", "MARKET"],
                    "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
                    "permissions": ["SPOT"], "permissionSets": [["SPOT"]],
                    "filters": [
                        {"filterType": "PRICE_FILTER", "minPrice": str(m["tick"]),
                         "maxPrice": "1000000.00", "tickSize": str(m["tick"])},
                        {"filterType": "LOT_SIZE", "minQty": str(m["min_qty"]),
                         "maxQty": "9000000.0", "stepSize": str(m["step"])},
                        {"filterType": "NOTIONAL", "minNotional": str(m["min_notional"]),
                         "applyMinToMarket": True, "maxNotional": "9000000.0",
                         "applyMaxToMarket": False, "avgPriceMins": 5},
                    ],
                }
            )  # fmt: skip
        return {"timezone": "UTC", "serverTime": int(time.time() * 1000), "symbols": symbols}

    def _ticker(self, params):
        def one(sid):
            price = str(self.markets[sid]["price"])
            now = int(time.time() * 1000)
            return {"symbol": sid, "lastPrice": price, "price": price, "bidPrice": price,
                    "askPrice": price, "openPrice": price, "highPrice": price,
                    "lowPrice": price, "volume": "1000", "quoteVolume": "1000",
                    "openTime": now - 86_400_000, "closeTime": now}  # fmt: skip

        if "symbol" in params:
            return one(params["symbol"])
        if "symbols" in params:
            import json

            return [one(s) for s in json.loads(params["symbols"])]
        return [one(s) for s in self.markets]

    def _account(self, params) -> dict:
        balances = [
            {"asset": a, "free": format(v, "f"), "locked": "0.00000000"}
            for a, v in self.balances.items()
        ]
        return {
            "makerCommission": 10, "takerCommission": 10, "canTrade": True,
            "canWithdraw": True, "canDeposit": True, "accountType": "SPOT",
            "updateTime": int(time.time() * 1000), "balances": balances,
            "permissions": ["SPOT"],
        }  # fmt: skip

    @staticmethod
    def _error(code: int, msg: str, status: int = 400) -> web.Response:
        return web.json_response({"code": code, "msg": msg}, status=status)

    async def _post_order(self, request: web.Request, params: dict) -> web.StreamResponse:
        sid = params.get("symbol")
        with self.lock:
            fault = self.faults[sid].popleft() if self.faults.get(sid) else None
        if fault == "rate_limit":
            return web.Response(status=429, text='{"code":-1003,"msg":"Too many requests."}')
        if fault == "hang":
            await asyncio.sleep(3600)
        with self.lock:
            cid = params.get("newClientOrderId")
            self.posted.append(cid)
            if fault == "reject":
                return self._error(-2010, "Account has insufficient balance for requested action.")
            result = self._execute(params, partial=fault == "partial", rest=fault == "rest")
        if fault == "drop":
            request.transport.close()
            return web.Response(status=500)
        if fault == "delay":
            await asyncio.sleep(self.delay)
        if isinstance(result, web.Response):
            return result
        if fault == "misreport":  # the answer names another market (GET tells the truth)
            other = next(m for m in self.markets if m != result["symbol"])
            result = {**result, "symbol": other}
        if fault == "corrupt":  # an answer contradicting what was executed (GET tells truth)
            wrong = format(_dec(result["executedQty"]) * 10, "f")
            result = {**result, "executedQty": wrong,
                      "fills": [{**f, "qty": wrong} for f in result["fills"]]}  # fmt: skip
        return web.json_response(result)

    def _execute(self, params: dict, partial: bool, rest: bool):
        sid, cid = params.get("symbol"), params.get("newClientOrderId")
        market = self.markets.get(sid)
        if market is None:
            return self._error(-1121, "Invalid symbol.")
        if cid in self.orders:
            return self._error(-2010, "Duplicate order sent.")
        side, kind = params["side"], params["type"]
        qty = _dec(params["quantity"])
        price = _dec(market["price"])
        step = _dec(market["step"])
        if qty % step != 0 or qty < _dec(market["min_qty"]):
            return self._error(-1013, "Filter failure: LOT_SIZE")
        if qty * price < _dec(market["min_notional"]):
            return self._error(-1013, "Filter failure: NOTIONAL")
        limit = _dec(params["price"]) if kind == "LIMIT" else None
        if limit is not None and limit % _dec(market["tick"]) != 0:
            return self._error(-1013, "Filter failure: PRICE_FILTER")
        marketable = limit is None or (limit >= price if side == "BUY" else limit <= price)
        filled = Decimal(0) if (rest or not marketable) else qty
        if partial:
            filled = (qty / 2 // step) * step
        base, quote = market["symbol"].split("/")
        notional = filled * price
        fee = (notional * self.fee_rate).quantize(Decimal("1e-8"))
        fee_asset = quote
        if side == "BUY" and self.buy_fee_in_base:
            fee, fee_asset = (filled * self.fee_rate).quantize(Decimal("1e-8")), base
        if side == "BUY" and self.balances[quote] < notional + (fee if fee_asset == quote else 0):
            return self._error(-2010, "Account has insufficient balance for requested action.")
        if side == "SELL" and self.balances[base] < filled:
            return self._error(-2010, "Account has insufficient balance for requested action.")
        sign = 1 if side == "BUY" else -1
        self.balances[base] += sign * filled - (fee if fee_asset == base else 0)
        self.balances[quote] -= sign * notional + (fee if fee_asset == quote else 0)
        status = "FILLED" if filled == qty else ("EXPIRED" if limit is None else "NEW")
        if limit is not None and 0 < filled < qty:
            status = "PARTIALLY_FILLED"
        now = int(time.time() * 1000)
        order = {
            "symbol": sid, "orderId": next(self._ids), "orderListId": -1, "clientOrderId": cid,
            "transactTime": now, "time": now, "updateTime": now,
            "price": format(limit or 0, "f"), "origQty": format(qty, "f"),
            "executedQty": format(filled, "f"), "cummulativeQuoteQty": format(notional, "f"),
            "status": status, "timeInForce": "GTC", "type": kind, "side": side,
            "workingTime": now, "selfTradePreventionMode": "NONE",
        }  # fmt: skip
        self.orders[cid] = order
        fills = []
        if filled > 0:
            trade = {
                "symbol": sid, "id": len(self.trades) + 1, "orderId": order["orderId"],
                "price": format(price, "f"), "qty": format(filled, "f"),
                "quoteQty": format(notional, "f"), "commission": format(fee, "f"),
                "commissionAsset": fee_asset, "time": now, "isBuyer": side == "BUY",
                "isMaker": False, "isBestMatch": True,
            }  # fmt: skip
            self.trades.append(trade)
            keys = ("price", "qty", "commission", "commissionAsset")
            fills = [{**{k: trade[k] for k in keys}, "tradeId": trade["id"]}]
        return {**order, "fills": fills}

    def _find(self, params):
        order = self.orders.get(params.get("origClientOrderId"))
        if order is None or order["symbol"] != params.get("symbol"):
            return None
        return order

    def _get_order(self, params):
        order = self._find(params)
        if order is None:
            return self._error(-2013, "Order does not exist.")
        return order

    def _cancel(self, params):
        order = self._find(params)
        if order is None or order["status"] not in ("NEW", "PARTIALLY_FILLED"):
            return self._error(-2011, "Unknown order sent.")
        order["status"] = "CANCELED"
        return order

    def _my_trades(self, params):
        order_id = int(params["orderId"]) if "orderId" in params else None
        return [
            t for t in self.trades
            if t["symbol"] == params.get("symbol") and order_id in (None, t["orderId"])
        ]  # fmt: skip
