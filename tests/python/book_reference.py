"""A pure-Python reference of zkclob's order book (semantics in csrc/include/zkclob/book.h).

Written for obviousness, not speed: price levels are dicts of FIFO lists, the
best price is found with max/min, the auction tries every candidate price.
Events are tuples in EVENT_DTYPE field order. Slots follow the engine's
documented stack rule so the state-root encoding can be recomputed from here.
"""

BUY, SELL = 0, 1
LIMIT, MARKET, CANCEL, MODIFY = 0, 1, 2, 3
GTC, IOC, FOK, POST_ONLY = 0, 1, 2, 3
STP_NONE, STP_NEWEST, STP_OLDEST, STP_BOTH = 0, 1, 2, 3
ACK, FILL, CANCELLED, REJECT, EXPIRE = 0, 1, 2, 3, 4
R = dict(NONE=0, UNKNOWN_SYMBOL=1, BAD_TYPE=2, BAD_SIDE=3, BAD_TIF=4, BAD_STP=5, BAD_QTY=6, LOT=7, TICK=8,
         BAND=9, TIF_FOR_TYPE=10, CALL_PHASE=11, DUPLICATE_ID=12, UNKNOWN_ID=13, NOT_OWNER=14, POST_ONLY=15,
         CAPACITY=16, STP=17)
CONTINUOUS, AUCTION = 0, 1
MAX_QTY = 1 << 40
MAX_PRICE = 1 << 62


class Order:
    def __init__(self, id, trader, side, tif, stp, price, qty, seq, slot):
        self.id, self.trader, self.side, self.tif, self.stp = id, trader, side, tif, stp
        self.price, self.qty, self.seq, self.slot = price, qty, seq, slot


class Book:
    """One symbol."""

    def __init__(self, symbol, capacity, tick=1, lot=1, band=(1, MAX_PRICE), ref=0, mode=CONTINUOUS):
        self.symbol, self.tick, self.lot, self.lo, self.hi = symbol, tick, lot, band[0], band[1]
        self.last, self.mode = ref, mode
        self.levels = ({}, {})  # per side: price -> [Order] in time priority
        self.orders = {}  # id -> Order
        self.free = list(range(capacity - 1, -1, -1))  # a stack: slot 0 on top

    # ---- book primitives ----

    def best(self, side):
        prices = self.levels[side]
        if not prices:
            return None
        return max(prices) if side == BUY else min(prices)

    def rest(self, id, trader, side, tif, stp, price, qty, seq):
        o = Order(id, trader, side, tif, stp, price, qty, seq, self.free.pop())
        self.levels[side].setdefault(price, []).append(o)
        self.orders[id] = o

    def remove(self, o):
        level = self.levels[o.side][o.price]
        level.remove(o)
        if not level:
            del self.levels[o.side][o.price]
        del self.orders[o.id]
        self.free.append(o.slot)

    def crosses(self, side, has_limit, price):
        b = self.best(1 - side)
        if b is None:
            return False
        if not has_limit:
            return True
        return price >= b if side == BUY else price <= b

    def walk(self, side, has_limit, price):
        """Resting orders a taker can reach, in priority order, level by level."""
        opp = 1 - side
        for p in sorted(self.levels[opp], reverse=(opp == BUY)):
            if has_limit and (price < p if side == BUY else price > p):
                return
            yield p, list(self.levels[opp][p])

    def executable(self, side, has_limit, price, qty, trader, stp):
        exe = 0
        for _, level in self.walk(side, has_limit, price):
            if exe >= qty:
                break
            if stp == STP_NONE:
                exe += sum(o.qty for o in level)
                continue
            for o in level:
                if exe >= qty:
                    break
                if o.trader != trader:
                    exe += o.qty
                elif stp != STP_OLDEST:
                    return exe, True
        return exe, False

    # ---- orders ----

    def check_qty_price(self, qty, priced, price):
        if qty <= 0 or qty > MAX_QTY:
            return "BAD_QTY"
        if qty % self.lot:
            return "LOT"
        if priced and price % self.tick:
            return "TICK"
        if priced and not self.lo <= price <= self.hi:
            return "BAND"
        return None

    def reject(self, o, seq, reason):
        return [(seq, REJECT, self.symbol, o["id"], 0, o["price"], o["qty"], 0, R[reason])]

    def process(self, o, seq):
        t = o["type"]
        if t in (LIMIT, MARKET):
            return self.new(o, seq)
        if t == CANCEL:
            return self.cancel(o, seq)
        if t == MODIFY:
            return self.modify(o, seq)
        return self.reject(o, seq, "BAD_TYPE")

    def new(self, o, seq):
        side, tif, stp, t = o["side"], o["tif"], o["stp"], o["type"]
        if side > SELL:
            return self.reject(o, seq, "BAD_SIDE")
        if tif > POST_ONLY:
            return self.reject(o, seq, "BAD_TIF")
        if stp > STP_BOTH:
            return self.reject(o, seq, "BAD_STP")
        has_limit = t == LIMIT
        r = self.check_qty_price(o["qty"], has_limit, o["price"])
        if r:
            return self.reject(o, seq, r)
        if t == MARKET and tif == POST_ONLY:
            return self.reject(o, seq, "TIF_FOR_TYPE")
        auction = self.mode == AUCTION
        if auction and (t != LIMIT or tif != GTC):
            return self.reject(o, seq, "CALL_PHASE")
        if o["id"] in self.orders:
            return self.reject(o, seq, "DUPLICATE_ID")
        if not auction and tif == POST_ONLY and self.crosses(side, True, o["price"]):
            return self.reject(o, seq, "POST_ONLY")
        if not self.free and has_limit and tif not in (IOC, FOK):
            if auction or tif == POST_ONLY:
                rests = True
            else:
                exe, stops = self.executable(side, True, o["price"], o["qty"], o["trader"], stp)
                rests = exe < o["qty"] and not stops
            if rests:
                return self.reject(o, seq, "CAPACITY")
        shown = o["price"] if has_limit else 0
        ev = [(seq, ACK, self.symbol, o["id"], 0, shown, o["qty"], o["qty"], 0)]
        ev += self.enter(o["id"], o["trader"], side, t, tif, stp, o["price"], o["qty"], seq)
        return ev

    def enter(self, id, trader, side, t, tif, stp, price, qty, seq):
        has_limit = t == LIMIT
        shown = price if has_limit else 0
        if self.mode == AUCTION:
            self.rest(id, trader, side, tif, stp, price, qty, seq)
            return []
        if tif == FOK and self.executable(side, has_limit, price, qty, trader, stp)[0] < qty:
            return [(seq, EXPIRE, self.symbol, id, 0, shown, qty, 0, 0)]
        ev = []
        for p, level in self.walk(side, has_limit, price):
            for m in level:
                if qty == 0:
                    break
                if stp != STP_NONE and m.trader == trader:
                    if stp in (STP_OLDEST, STP_BOTH):
                        ev.append((seq, CANCELLED, self.symbol, m.id, id, m.price, m.qty, 0, R["STP"]))
                        self.remove(m)
                    if stp != STP_OLDEST:
                        ev.append((seq, CANCELLED, self.symbol, id, m.id, shown, qty, 0, R["STP"]))
                        return ev
                    continue
                q = min(qty, m.qty)
                qty -= q
                m.qty -= q
                self.last = p
                ev.append((seq, FILL, self.symbol, id, m.id, p, q, qty, 0))
                if m.qty == 0:
                    self.remove(m)
            if qty == 0:
                break
        if qty == 0:
            return ev
        if has_limit and tif in (GTC, POST_ONLY):
            self.rest(id, trader, side, tif, stp, price, qty, seq)
        else:
            ev.append((seq, EXPIRE, self.symbol, id, 0, shown, qty, 0, 0))
        return ev

    def cancel(self, o, seq):
        m = self.orders.get(o["id"])
        if m is None:
            return self.reject(o, seq, "UNKNOWN_ID")
        if m.trader != o["trader"]:
            return self.reject(o, seq, "NOT_OWNER")
        ev = [(seq, CANCELLED, self.symbol, m.id, 0, m.price, m.qty, 0, 0)]
        self.remove(m)
        return ev

    def modify(self, o, seq):
        r = self.check_qty_price(o["qty"], True, o["price"])
        if r:
            return self.reject(o, seq, r)
        m = self.orders.get(o["id"])
        if m is None:
            return self.reject(o, seq, "UNKNOWN_ID")
        if m.trader != o["trader"]:
            return self.reject(o, seq, "NOT_OWNER")
        keeps = o["price"] == m.price and o["qty"] <= m.qty
        if (not keeps and self.mode == CONTINUOUS and m.tif == POST_ONLY
                and self.crosses(m.side, True, o["price"])):
            return self.reject(o, seq, "POST_ONLY")
        ev = [(seq, ACK, self.symbol, o["id"], 0, o["price"], o["qty"], o["qty"], 0)]
        if keeps:
            m.qty = o["qty"]
            return ev
        self.remove(m)
        return ev + self.enter(m.id, m.trader, m.side, LIMIT, m.tif, m.stp, o["price"], o["qty"], seq)

    # ---- call auction ----

    def clearing(self):
        """(price, volume, imbalance) by brute force over every resting price."""
        best = None
        for p in sorted(set(self.levels[BUY]) | set(self.levels[SELL])):
            demand = sum(o.qty for q, lv in self.levels[BUY].items() if q >= p for o in lv)
            supply = sum(o.qty for q, lv in self.levels[SELL].items() if q <= p for o in lv)
            v = min(demand, supply)
            key = (v, -abs(demand - supply), -abs(p - self.last), -p)
            if best is None or key > best[0]:
                best = (key, p, v, abs(demand - supply))
        if best is None or best[2] == 0:
            return 0, 0, 0
        return best[1], best[2], best[3]

    def uncross(self, seq):
        price, volume, _ = self.clearing()
        ev = []
        while volume > 0:
            b = self.levels[BUY][self.best(BUY)][0]
            a = self.levels[SELL][self.best(SELL)][0]
            q = min(volume, b.qty, a.qty)
            volume -= q
            b.qty -= q
            a.qty -= q
            newer, older = (b, a) if b.seq > a.seq else (a, b)
            ev.append((seq, FILL, self.symbol, newer.id, older.id, price, q, newer.qty, 0))
            if b.qty == 0:
                self.remove(b)
            if a.qty == 0:
                self.remove(a)
        if ev:
            self.last = price
        return ev

    # ---- views ----

    def entries(self):
        """Resting orders in the engine's book() order: bids best first, then asks."""
        out = []
        for side in (BUY, SELL):
            for p in sorted(self.levels[side], reverse=(side == BUY)):
                out += self.levels[side][p]
        return out

    def depth(self, side):
        return [(p, sum(o.qty for o in lv), len(lv))
                for p, lv in sorted(self.levels[side].items(), reverse=(side == BUY))]

    def crossed(self):
        b, a = self.best(BUY), self.best(SELL)
        return b is not None and a is not None and b >= a


class Engine:
    def __init__(self, symbols, capacity, **book_args):
        self.books = [Book(s, capacity, **book_args) for s in range(symbols)]
        self.next_seq = 1

    def submit(self, orders):
        """orders: iterable of dicts with ORDER_DTYPE field names."""
        ev = []
        for o in orders:
            seq = self.next_seq
            self.next_seq += 1
            if o["symbol"] >= len(self.books):
                ev.append((seq, REJECT, o["symbol"], o["id"], 0, o["price"], o["qty"], 0, R["UNKNOWN_SYMBOL"]))
            else:
                ev += self.books[o["symbol"]].process(o, seq)
        return ev

    def uncross(self, symbols):
        seq = self.next_seq
        self.next_seq += 1
        ev = []
        for s in symbols:
            ev += self.books[s].uncross(seq)
        return ev
