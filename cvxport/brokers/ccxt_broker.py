"""CCXTBroker: an exchange reached through ``ccxt.async_support`` as a cvxport Broker.

Needs the optional extra ``live`` (``pip install cvxport[live]``). Markets, lot sizes,
precision and minimums come from ``load_markets``; orders carry the journal's client order
id, so the broker can be asked about (and cancel) an order whose answer was lost. ccxt's
network errors (timeouts, rate limits, an exchange not available) become ``RetryableError``;
every other ccxt error an ``ExecutionError`` naming the order. The API key and secret are
redacted from ccxt's own debug log records. Fees charged in the base asset
are folded into the fill: the quantity is what was received, the price the quote paid per
unit received. Nothing here logs or stores the API keys.
Units: quantities in base-asset units, prices, cash and commissions in the quote currency.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from cvxport.backtest.sizer import MarketLimits
from cvxport.brokers.orders import Fill, Order, OrderSide, OrderStatus
from cvxport.errors import ExecutionError, InvalidInputError, RetryableError

__all__ = ["CCXTBroker"]

logger = logging.getLogger(__name__)

_STATES = {"open": "open", "closed": "closed", "expired": "closed", "canceled": "canceled",
           "cancelled": "canceled", "rejected": "rejected"}  # fmt: skip


class _RedactSecrets(logging.Filter):
    """Replaces the API keys and secrets in ccxt's debug log records (ccxt logs request
    headers, the API key among them) with '***'. A filter, not a handler: where records go
    stays the application's choice."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for secret in self.secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACT = _RedactSecrets()


def _hide_secrets(exchange: Any) -> None:
    for attr in ("apiKey", "secret", "password", "uid", "privateKey", "token"):
        value = getattr(exchange, attr, None)
        if isinstance(value, str) and len(value) >= 4:
            _REDACT.secrets.add(value)
    ccxt_logger = logging.getLogger("ccxt.base.exchange")
    if _REDACT not in ccxt_logger.filters:
        ccxt_logger.addFilter(_REDACT)


def _ccxt():
    try:
        import ccxt.async_support as ccxt
    except ImportError as exc:  # pragma: no cover - exercised without the extra only
        raise InvalidInputError("CCXTBroker needs ccxt: pip install 'cvxport[live]'") from exc
    return ccxt


class CCXTBroker:
    """A ccxt exchange account trading spot ``symbols`` against one quote currency.

    Args:
        exchange_id: ccxt's id of the exchange ('binance', 'kraken', ...), or None when
            ``exchange`` is given.
        symbols: Unified symbols this broker trades ('BTC/USDT'); their base balances are its
            positions.
        quote: The cash currency ('USDT').
        config: ccxt's constructor settings (apiKey, secret, options, urls); kept only by the
            ccxt client, never logged.
        name: Broker name (default: the exchange id).
        exchange: A ready ccxt async exchange instead of ``exchange_id`` and ``config``.
        poll_interval: Seconds between status queries of a resting order.
    """

    def __init__(
        self,
        exchange_id: str | None = "binance",
        symbols: Iterable[str] = (),
        quote: str = "USDT",
        config: Mapping[str, Any] | None = None,
        name: str | None = None,
        exchange: Any = None,
        poll_interval: float = 0.2,
    ) -> None:
        ccxt = _ccxt()
        if exchange is None:
            if not hasattr(ccxt, str(exchange_id)):
                raise InvalidInputError(f"ccxt has no exchange {exchange_id!r}")
            exchange = getattr(ccxt, exchange_id)(dict(config or {}))
        self.exchange = exchange
        _hide_secrets(exchange)
        self.name = name or exchange.id
        self.symbols = list(dict.fromkeys(symbols))
        bad = [s for s in self.symbols if not s.endswith("/" + quote)]
        if bad:
            raise InvalidInputError(f"CCXTBroker symbols {bad} are not quoted in {quote!r}")
        self.quote = quote
        self.poll_interval = poll_interval
        self._errors = ccxt

    def __repr__(self) -> str:
        return f"CCXTBroker(name={self.name!r}, symbols={self.symbols}, quote={self.quote!r})"

    async def __aenter__(self) -> CCXTBroker:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the ccxt client's HTTP session."""
        await self.exchange.close()

    def supports(self, symbol: str) -> bool:
        """Whether ``symbol`` is one of this broker's symbols."""
        return symbol in self.symbols

    async def _call(self, what: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call a ccxt method, mapping its errors to cvxport's (naming ``what``)."""
        ccxt = self._errors
        try:
            return await getattr(self.exchange, method)(*args, **kwargs)
        except ccxt.NetworkError as exc:
            raise RetryableError(f"{self.name!r} {what}: {type(exc).__name__}: {exc}") from exc
        except ccxt.BaseError as exc:
            raise ExecutionError(f"{self.name!r} {what}: {type(exc).__name__}: {exc}") from exc

    async def load_markets(self) -> dict:
        """Markets of the exchange (loaded once)."""
        return await self._call("load_markets", "load_markets")

    async def market_limits(self, symbol: str) -> MarketLimits:
        """Lot size, price tick and minimums of ``symbol`` from ``load_markets``."""
        await self.load_markets()
        market = self.exchange.market(symbol)
        precision, limits = market["precision"], market["limits"]

        def step(value):
            if value is None:
                return None
            if self.exchange.precisionMode == self._errors.TICK_SIZE:
                return float(value)
            return 10.0 ** -float(value)

        return MarketLimits(
            amount_step=step(precision.get("amount")),
            price_tick=step(precision.get("price")),
            min_amount=(limits.get("amount") or {}).get("min"),
            min_notional=(limits.get("cost") or {}).get("min"),
        )

    async def _balances(self) -> dict:
        return (await self._call("fetch_balance", "fetch_balance"))["total"]

    async def get_positions(self) -> dict[str, float]:
        """Base-asset balances (total) of this broker's symbols, in base units."""
        total = await self._balances()
        return {s: float(total.get(s.split("/")[0]) or 0.0) for s in self.symbols}

    async def get_cash(self) -> float:
        """Balance (total) of the quote currency."""
        return float((await self._balances()).get(self.quote) or 0.0)

    async def get_prices(self, symbols: Iterable[str]) -> dict[str, float]:
        """Last traded prices of ``symbols`` (quote currency per unit)."""
        wanted = [s for s in symbols if s in self.symbols]
        if not wanted:
            return {}
        tickers = await self._call("fetch_tickers", "fetch_tickers", wanted)
        return {s: float(tickers[s]["last"]) for s in wanted if s in tickers}

    async def submit_order(self, order: Order) -> Fill:
        """Place ``order`` with its client order id; wait while it rests; return its fill.

        Raises:
            RetryableError: a network error or rate limit (the order may have arrived: ask).
            ExecutionError: the exchange refused it, or it ended with nothing filled.
        """
        await self.load_markets()
        what = f"{order.side.value} {order.quantity:g} {order.symbol!r}"
        amount = float(self.exchange.amount_to_precision(order.symbol, order.quantity))
        price = None
        if order.order_type == "limit":
            price = float(self.exchange.price_to_precision(order.symbol, order.limit_price))
        params = (
            {} if order.client_order_id is None else {"newClientOrderId": order.client_order_id}
        )
        placed = await self._call(
            what, "create_order", order.symbol, order.order_type, order.side.value.lower(),
            amount, price, params,
        )  # fmt: skip
        status = await self._status(order, placed)
        while not status.final:
            await asyncio.sleep(self.poll_interval)
            status = await self.fetch_order(order)
        fill = status.to_fill(order, self.name)
        if fill is None:
            raise ExecutionError(f"{self.name!r} {what}: order {status.state}, nothing filled")
        return fill

    async def fetch_order(self, order: Order) -> OrderStatus:
        """The exchange's status of ``order`` by client order id ('unknown' if never seen)."""
        await self.load_markets()
        cid = order.client_order_id
        try:
            found = await self.exchange.fetch_order(None, order.symbol, {"origClientOrderId": cid})
        except self._errors.OrderNotFound:
            return OrderStatus(str(cid), "unknown")
        except self._errors.NetworkError as exc:
            raise RetryableError(f"{self.name!r} fetch_order {cid}: {exc}") from exc
        except self._errors.BaseError as exc:
            raise ExecutionError(f"{self.name!r} fetch_order {cid}: {exc}") from exc
        return await self._status(order, found)

    async def cancel_order(self, order: Order) -> None:
        """Cancel ``order`` if it is open (an order already final is left as is)."""
        await self.load_markets()
        cid = order.client_order_id
        try:
            await self.exchange.cancel_order(None, order.symbol, {"origClientOrderId": cid})
        except self._errors.OrderNotFound:
            return
        except self._errors.BaseError as exc:
            raise ExecutionError(f"{self.name!r} cancel_order {cid}: {exc}") from exc

    async def _status(self, order: Order, raw: Mapping[str, Any]) -> OrderStatus:
        """OrderStatus of a ccxt order structure, fees from its trades when it lacks them."""
        cid = str(order.client_order_id)
        state = _STATES.get(raw.get("status"), "open")
        filled = float(raw.get("filled") or 0.0)
        if filled <= 0:
            return OrderStatus(cid, state)
        cost = float(raw.get("cost") or filled * float(raw.get("average") or raw["price"]))
        fees = raw.get("fees") or ([raw["fee"]] if raw.get("fee") else [])
        if not fees and raw.get("id") is not None:
            trades = await self._call(
                f"fetch_order_trades {cid}", "fetch_order_trades", raw["id"], order.symbol
            )
            fees = [t["fee"] for t in trades if t.get("fee")]
        base = order.symbol.split("/")[0]
        commission, base_fee = 0.0, 0.0
        for fee in fees:
            amount = float(fee.get("cost") or 0.0)
            if fee.get("currency") == self.quote:
                commission += amount
            elif fee.get("currency") == base:
                base_fee += amount
            elif amount:
                raise ExecutionError(
                    f"{self.name!r} order {cid}: fee in {fee.get('currency')!r}, neither the "
                    f"base nor the quote currency, cannot be booked"
                )
        received = filled - base_fee if order.side.value == "BUY" else filled
        side = str(raw.get("side") or order.side.value).upper()
        side = OrderSide(side) if side in ("BUY", "SELL") else side
        return OrderStatus(
            cid, state, received, cost / received, commission, raw.get("symbol"), side
        )
