"""How a user asks for what each BFCL tool does, in their own words (written for this project, not BFCL's docs).

    from funreason.synth.teachers.intents import intent
    intent("pwd", doc)        # "tell me which folder I'm in"
    intent("my_tool", doc)    # a tool of another environment: its doc sentence, reworded as a request

The template teacher builds queries and reasoning from these: restating a tool's doc sentence ("Get the current
working directory", BFCL's "currrent" typo included) teaches a model that requests are spelled out in API prose,
which no BFCL question is. Tools not listed fall back to `reworded(doc)`: the doc's first sentence with its typos
fixed and its API voice ("the user", "the specified") turned into a user's.
"""

from __future__ import annotations

import re

INTENTS = {
    # GorillaFileSystem
    "cat": "show me what's in a file",
    "cd": "go into a folder",
    "cp": "make a copy of a file",
    "diff": "compare two files line by line",
    "du": "tell me how much space this folder takes up",
    "echo": "write some text into a file",
    "find": "look for files or folders by name",
    "grep": "find the lines of a file that mention something",
    "ls": "show me what's in this folder",
    "mkdir": "make a new folder",
    "mv": "move or rename something",
    "pwd": "tell me which folder I'm in",
    "rm": "delete a file",
    "rmdir": "remove an empty folder",
    "sort": "sort the lines of a file",
    "tail": "show me the last lines of a file",
    "touch": "create an empty file",
    "wc": "count what's in a file",
    # MathAPI
    "absolute_value": "give me the absolute value of a number",
    "add": "work out the sum",
    "divide": "work out the quotient",
    "imperial_si_conversion": "convert a measurement between imperial and metric",
    "logarithm": "work out a logarithm",
    "max_value": "find the largest of some numbers",
    "mean": "average some numbers",
    "min_value": "find the smallest of some numbers",
    "multiply": "work out the product",
    "percentage": "work out a percentage",
    "power": "work out a power",
    "round_number": "round a number",
    "si_unit_conversion": "convert between metric units",
    "square_root": "take a square root",
    "standard_deviation": "get the standard deviation of some numbers",
    "subtract": "work out the difference",
    "sum_values": "add up a list of numbers",
    # MessageAPI
    "add_contact": "add someone to my contacts",
    "delete_message": "delete a message I sent",
    "get_message_stats": "give me my messaging stats",
    "get_user_id": "look up someone's user ID",
    "list_users": "show me everyone on the messaging service",
    "message_get_login_status": "check whether I'm logged in to messages",
    "message_login": "log me in to messages",
    "search_messages": "search my messages for a word",
    "send_message": "send a message",
    "view_messages_sent": "show me the messages I've sent",
    # TwitterAPI
    "authenticate_twitter": "sign me in to my social account",
    "comment": "reply to a post",
    "follow_user": "follow someone",
    "get_tweet": "pull up a post",
    "get_tweet_comments": "show me the replies to a post",
    "get_user_stats": "show me someone's account stats",
    "get_user_tweets": "show me someone's posts",
    "list_all_following": "list who I follow",
    "mention": "tag people in a post",
    "post_tweet": "post something",
    "posting_get_login_status": "check whether I'm signed in to my social account",
    "retweet": "repost a post",
    "search_tweets": "search posts for a word",
    "unfollow_user": "unfollow someone",
    # TicketAPI
    "close_ticket": "close a support ticket",
    "create_ticket": "open a support ticket",
    "edit_ticket": "update a support ticket",
    "get_ticket": "pull up a support ticket",
    "get_user_tickets": "list my support tickets",
    "logout": "log me out of the ticket system",
    "resolve_ticket": "mark a support ticket as resolved",
    "ticket_get_login_status": "check whether I'm logged in to the ticket system",
    "ticket_login": "log me in to the ticket system",
    # TradingBot
    "add_to_watchlist": "put a stock on my watchlist",
    "cancel_order": "call off an order",
    "filter_stocks_by_price": "find which stocks trade in a price range",
    "fund_account": "put money into my trading account",
    "get_account_info": "show me my trading account",
    "get_available_stocks": "list the stocks in a sector",
    "get_current_time": "tell me the market time",
    "get_order_details": "show me an order",
    "get_order_history": "show me my past orders",
    "get_stock_info": "give me the latest on a stock",
    "get_symbol_by_name": "find a company's ticker",
    "get_transaction_history": "show me my transactions",
    "get_watchlist": "show me my watchlist",
    "notify_price_change": "tell me which stocks moved a lot",
    "place_order": "place a trade",
    "remove_stock_from_watchlist": "take a stock off my watchlist",
    "trading_get_login_status": "check whether I'm logged in to trading",
    "trading_login": "log me in to my trading account",
    "trading_logout": "log me out of trading",
    "withdraw_funds": "take money out of my trading account",
    # TravelAPI
    "authenticate_travel": "sign me in to the travel service",
    "book_flight": "book a flight",
    "cancel_booking": "call off a booking",
    "compute_exchange_rate": "convert an amount between currencies",
    "contact_customer_support": "get in touch with support about a booking",
    "get_all_credit_cards": "list the cards I have on file",
    "get_booking_history": "show me my bookings",
    "get_budget_fiscal_year": "look up the budget fiscal years",
    "get_credit_card_balance": "check how much is on a card",
    "get_flight_cost": "find out what a flight costs",
    "get_nearest_airport_by_city": "find the airport closest to a city",
    "list_all_airports": "list the airports you cover",
    "purchase_insurance": "add travel insurance to a booking",
    "register_credit_card": "save a new card",
    "retrieve_invoice": "get the invoice for a booking",
    "set_budget_limit": "set my travel budget",
    "travel_get_login_status": "check whether I'm signed in for travel",
    "verify_traveler_information": "check that the traveller details are in order",
    # VehicleControlAPI
    "activateParkingBrake": "set or release the parking brake",
    "adjustClimateControl": "change the climate settings",
    "check_tire_pressure": "check the tyres",
    "displayCarStatus": "tell me the car's status",
    "display_log": "show a log message",
    "estimate_distance": "work out how far apart two places are",
    "estimate_drive_feasibility_by_mileage": "tell me if the car can make a trip on what's in the tank",
    "fillFuelTank": "put fuel in the tank",
    "find_nearest_tire_shop": "find the nearest tyre shop",
    "gallon_to_liter": "convert gallons to litres",
    "get_current_speed": "tell me how fast we're going",
    "get_outside_temperature_from_google": "look the outside temperature up online",
    "get_outside_temperature_from_weather_com": "tell me the temperature outside",
    "get_zipcode_based_on_city": "find a city's zip code",
    "liter_to_gallon": "convert litres to gallons",
    "lockDoors": "lock or unlock doors",
    "pressBrakePedal": "press the brake",
    "releaseBrakePedal": "let go of the brake",
    "setCruiseControl": "set the cruise control",
    "setHeadlights": "switch the headlights",
    "set_navigation": "set the navigation",
    "startEngine": "start the engine",
}

_TYPOS = {"currrent": "current", "diretory": "directory", "specifed": "specified", "informations": "information"}
_VOICE = [
    (r"^(get|retrieve|fetch|obtain|return)s? ", "tell me "),
    (r"^(list|display|show)s? ", "show me "),
    (r"^(search for|search|find|look up)s? ", "find "),
    (r"\bthe (current )?user'?s?\b", "my"),
    (r"\bthe specified\b", "the given"),
    (r"\bof any extension\b", ""),
    (r"\bfrom current directory\b|\bin (the )?current directory\b|\bat current directory\b", "here"),
]


def reworded(doc: dict | None, name: str) -> str:
    """A doc sentence as a user's request: typos fixed, API voice replaced; the tool name's words if no doc."""
    text = (doc or {}).get("description") or name.replace("_", " ")
    text = text.split("Tool description:")[-1].strip()
    text = text.split(". ")[0].strip().rstrip(".")
    for typo, fix in _TYPOS.items():
        text = re.sub(typo, fix, text, flags=re.I)
    text = text[:1].lower() + text[1:]
    for pattern, repl in _VOICE:
        text = re.sub(pattern, repl, text)
    return re.sub(r"\s+", " ", text).strip() or name


def intent(name: str, doc: dict | None = None) -> str:
    return INTENTS.get(name) or reworded(doc, name)
