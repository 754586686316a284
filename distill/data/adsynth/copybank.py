"""Phrase banks in real ad language: per theme, per emotion x sentiment, per audience, per safety.

Banks are keyed by schema labels (themes, emotions, audiences); ``check_banks()`` verifies they
cover the schema exactly, so a label added to the schema without copy fails loudly (tested).

House rules for every phrase here (tested on the banks, so the labels stay clean):
  * no currency symbols, no "%" and no word "free": the only monetary mention of an ad is its
    offer (offers.py), so the ``monetary`` label and span are unambiguous;
  * no call-to-action button phrase ("Shop now", "Book now", ...): the ``cta`` label is carried
    by the button alone;
  * GENERIC_* banks (used by picture-only ads) name no product and no theme word.
"""

from __future__ import annotations

from adfusion_edge import schema

# theme -> [(product name, object class drawn for it)]
PRODUCTS: dict[str, list[tuple[str, str]]] = {
    "food": [("Pepperoni Pizza", "pizza"), ("Wood-Fired Pizza", "pizza"), ("Double Cheese Burger", "burger"),
             ("Smash Burger", "burger"), ("Iced Coffee", "coffee"), ("Caramel Latte", "coffee"),
             ("Chocolate Cake", "cake"), ("Strawberry Dessert", "cake"), ("Apple Pie", "apple"),
             ("Family Pizza Combo", "pizza")],
    "technology": [("Nova X Smartphone", "phone"), ("AirBook Pro Laptop", "laptop"),
                   ("Wireless Headphones", "headphones"), ("4K Action Camera", "camera"),
                   ("Pulse Smartwatch", "watch"), ("Pro Gaming Controller", "game_controller"),
                   ("Ultra Slim Laptop", "laptop"), ("Noise Cancelling Headphones", "headphones")],
    "fashion": [("Summer Dress Collection", "dress"), ("Urban Sneakers", "shoe"), ("Leather Handbag", "handbag"),
                ("Retro Sunglasses", "sunglasses"), ("Evening Dress", "dress"), ("Running Sneakers", "shoe"),
                ("Designer Handbag", "handbag")],
    "beauty": [("Velvet Matte Lipstick", "lipstick"), ("Hydra Glow Skincare", "lotion"),
               ("Vitamin C Serum", "lotion"), ("Lip Color Collection", "lipstick"),
               ("Night Repair Cream", "lotion"), ("Signature Fragrance", "lotion")],
    "automotive": [("Electric SUV", "car"), ("Sport Coupe", "car"), ("City E-Bike", "bicycle"),
                   ("Family Hatchback", "car"), ("Mountain Bike", "bicycle"), ("Hybrid Sedan", "car")],
    "travel": [("Flights to Lisbon", "plane"), ("Beach Getaway Packages", "suitcase"),
               ("Weekend in Paris", "plane"), ("Island Vacation", "suitcase"), ("Tokyo Adventure", "plane"),
               ("Mountain Hotel Escape", "suitcase")],
    "finance": [("Platinum Credit Card", "credit_card"), ("High-Yield Savings", "money_bag"),
                ("Smart Invest Account", "money_bag"), ("Travel Rewards Card", "credit_card"),
                ("Home Insurance Plan", "money_bag"), ("Personal Loan", "money_bag")],
    "health": [("Daily Vitamins", "pill"), ("Online Doctor Visits", "stethoscope"),
               ("Immune Support Formula", "pill"), ("Family Health Checkup", "stethoscope"),
               ("Pharmacy Delivery", "pill"), ("Fitness Coaching", "apple")],
    "entertainment": [("Blockbuster Premiere", "clapperboard"), ("Live Concert Tour", "ticket"),
                      ("Music Streaming", "music_note"), ("Movie Night", "clapperboard"),
                      ("Comedy Show Tickets", "ticket"), ("Summer Music Festival", "music_note")],
    "politics": [("Town Hall Meeting", "megaphone"), ("Community Rally", "megaphone"),
                 ("Early Voting Week", "ballot_box"), ("Voter Registration Drive", "ballot_box")],
    "education": [("Online Coding Course", "book"), ("Business Degree", "graduation_cap"),
                  ("Language Lessons", "book"), ("Scholarship Program", "graduation_cap"),
                  ("Evening Online Class", "book"), ("Master's Degree", "graduation_cap")],
    "home": [("Modular Sofa", "sofa"), ("Dream Home", "house"), ("Velvet Corner Sofa", "sofa"),
             ("Modern Apartments", "house"), ("Kitchen Makeover", "house"), ("Home Decor Collection", "sofa")],
}

# theme -> headline templates; {p} is the product name.
HEADLINES: dict[str, list[str]] = {
    "food": ["{p}", "Try our new {p}", "The {p} everyone loves", "Hot {p} in 30 minutes", "Taste the new {p}",
             "{p}, made fresh daily", "Your new favorite {p}"],
    "technology": ["Meet the {p}", "The new {p} is here", "Upgrade to the {p}", "{p}: faster than ever", "{p}",
                   "Introducing {p}"],
    "fashion": ["New season {p}", "Step out in style", "{p} just dropped", "Own the look: {p}", "{p}",
                "The {p} edit"],
    "beauty": ["Glow up with {p}", "Meet your new {p}", "Beauty that lasts all day", "{p}", "Reveal your glow",
               "The secret to radiant skin"],
    "automotive": ["Drive the new {p}", "The all-new {p}", "Take a test drive today", "Ride further with the {p}",
                   "{p}", "Meet the {p}"],
    "travel": ["Your next adventure starts here", "{p}", "Escape to the beach", "Pack your bags: {p}",
               "Discover {p}", "Dream vacation: {p}"],
    "finance": ["Meet the {p}", "Grow your savings", "Banking made simple", "Invest in your future", "{p}",
                "Smarter money with {p}"],
    "health": ["Feel your best with {p}", "Your health comes first", "{p}", "Wellness made easy",
               "Take care with {p}", "Stronger every day"],
    "entertainment": ["{p}", "The movie of the year", "Live on stage this summer", "Stream the new season",
                      "Don't miss the {p}", "{p}: tickets on sale"],
    "politics": ["Your vote matters", "Join the {p}", "Register to vote today", "Build a stronger community",
                 "{p}", "Make your voice heard"],
    "education": ["Learn something new", "{p}", "Earn your degree online", "Start your learning journey",
                  "Enroll in our {p}", "Get ahead with our {p}"],
    "home": ["Make yourself at home", "Meet the {p}", "Your dream home awaits", "Refresh your living room",
             "{p}", "Home sweet home: {p}"],
}

BODY: dict[str, list[str]] = {
    "food": ["Made with fresh ingredients every morning.", "Delicious meals delivered to your door.",
             "Check out our new menu.", "Fast delivery from your favorite restaurant.", "Grab a combo for lunch.",
             "Crispy, cheesy and delicious."],
    "technology": ["Lightning fast with all-day battery.", "Wireless sound, crystal clear.",
                   "The gadget everyone wants this year.", "Upgrade your setup for gaming and work.",
                   "A brilliant camera in your pocket.", "Launch week is here."],
    "fashion": ["Discover the latest trend in street style.", "Complete your outfit with our new collection.",
                "Designed for everyday style.", "Fresh looks for every outfit.", "Sneakers made for the city."],
    "beauty": ["Dermatologist tested skincare for a natural glow.", "Makeup that stays on from day to night.",
               "A fragrance you will never forget.", "Your daily beauty routine, simplified.",
               "Lipstick shades for every mood."],
    "automotive": ["Electric power, zero compromise.", "The most advanced vehicle we have built.",
                   "Smooth drive, smart tech inside.", "Built for every road.", "Book a test drive at your dealer."],
    "travel": ["Hand-picked hotels by the beach.", "Flight and hotel in one booking.",
               "Sun, sea and a perfect getaway.", "Travel more, worry less.", "Adventure is waiting for you."],
    "finance": ["Open an account at our bank in minutes.", "Insurance that protects what matters.",
                "Smart tools to invest and grow your savings.", "A loan with clear terms and low rates.",
                "Your credit card, your rewards."],
    "health": ["Vitamins and wellness products from your local pharmacy.", "Talk to a doctor from home.",
               "Build strength with our fitness program.", "Small steps to better health.",
               "Wellness plans for every age."],
    "entertainment": ["Grab your tickets before they are gone.", "Thousands of movies on our streaming app.",
                      "The concert event of the year.", "Premiere night starts at eight.",
                      "Music, movies and more."],
    "politics": ["Join the campaign and make your voice heard.", "Meet the candidate at our community rally.",
                 "Together we can build a better city.", "Every vote counts on election day.",
                 "Volunteers welcome in every neighborhood."],
    "education": ["Join an online class with expert teachers.", "Scholarship applications are open.",
                  "Books, courses and mentors in one place.", "Learn at your own pace.",
                  "A degree that fits your schedule."],
    "home": ["Furniture and decor for every room.", "Kitchen upgrades made easy.",
             "Find real estate in your neighborhood.", "Mortgage plans that fit your budget.",
             "A sofa you will never want to leave."],
}

# Extra object classes that may appear next to a theme's product (secondary objects, grid tiles).
EXTRA_OBJECTS: dict[str, tuple[str, ...]] = {
    "food": ("coffee", "cake", "apple"), "technology": ("headphones", "phone", "watch"),
    "fashion": ("sunglasses", "handbag", "shoe"), "beauty": ("lipstick", "lotion"),
    "automotive": ("car", "bicycle"), "travel": ("plane", "suitcase", "camera"),
    "finance": ("credit_card", "money_bag"), "health": ("pill", "stethoscope", "apple"),
    "entertainment": ("ticket", "clapperboard", "music_note"), "politics": ("megaphone", "ballot_box", "person"),
    "education": ("book", "graduation_cap"), "home": ("house", "sofa"),
}

# Politics ads that advocate (candidate, measure, party) are "sensitive"; these replace the headline.
ADVOCACY_HEADLINES = ["Elect Maria Lopez for Mayor", "Vote Yes on Measure 7", "Stand with Senator Hale",
                      "Change starts this election", "Re-elect Councilman Reed", "Vote No on Proposition 12"]

# Sensitive small print, per theme (themes without an entry use GENERIC_SENSITIVE).
SENSITIVE_LINES: dict[str, list[str]] = {
    "politics": ["Paid for by Citizens for Progress.", "Authorized by the Lopez campaign.",
                 "Paid political advertisement."],
    "health": ["Ask your doctor if it is right for you.", "Rx only. Side effects may occur.",
               "Not evaluated by the FDA."],
    "finance": ["Loans subject to credit approval.", "Investing involves risk.",
                "Bad credit? Fast approval available."],
    "entertainment": ["Rated R. Adults only.", "Viewer discretion advised.", "Contains mature content."],
    "beauty": ["Results may vary. Patch test first.", "Before and after results not typical."],
}
GENERIC_SENSITIVE = ["Must be 18 or older to participate.", "Adults only. Play responsibly.",
                     "Individual results vary."]

# Harmless small print for safe ads.
LEGAL_SAFE = ["Terms and conditions apply.", "While supplies last.", "Valid at participating locations.",
              "See website for details.", "Offer ends Sunday.", "Not valid with other promotions."]

# Unsafe = scam / deceptive copy. Theme-specific lines plus generic ones.
SCAM_HEADLINES: dict[str, list[str]] = {
    "finance": ["Double your crypto in 24 hours!!!", "Secret method banks hate!!!", "Guaranteed 5000 a day!!!"],
    "health": ["Miracle pill melts fat overnight!!!", "Doctors hate this one trick!!!", "Cure anything in 3 days!!!"],
    "technology": ["You won a new smartphone!!!", "WARNING: your phone is infected!!!"],
    "politics": ["They are rigging the election!!!", "Share before they delete this!!!"],
}
GENERIC_SCAM_HEADLINES = ["URGENT: claim your prize now!!!", "You have been selected as a WINNER!!!",
                          "Guaranteed income from home!!!", "Your account will be suspended!!!",
                          "Congratulations, you are our lucky visitor!!!"]
SCAM_BODY = ["Only 3 spots left. Act before midnight!!!", "No risk, 100 percent guaranteed results.",
             "Enter your card details to claim.", "Thousands already earning big from home.",
             "This offer disappears in 10 minutes!!!", "Urgent: verify your details today."]

# Picture-only ads: no product, no theme word.
GENERIC_HEADLINES = ["Something new is here", "Made just for you", "You deserve the best", "The wait is over",
                     "Discover more", "See what's new", "Only the best for you", "Ready when you are",
                     "This changes everything", "Your moment is now"]
GENERIC_BODY = ["Quality you can see.", "Loved by thousands.", "Made with care.", "Available now.",
                "Simple, smart and made for you.", "Everything you need in one place."]

# emotion -> sentiment -> hook lines (the ``hook`` text block carries the emotion).
HOOKS: dict[str, dict[str, list[str]]] = {
    "joy": {"positive": ["Happiness is here!", "Smile, it's the weekend!", "Treat yourself today!",
                         "Good times ahead!", "Made to make you smile", "Pure joy in every moment"],
            "neutral": ["A little treat for you", "Something nice for today"]},
    "excitement": {"positive": ["It's finally here!", "Get ready for something big!", "The wait is over!",
                                "Big news, big fun!", "Let's go!", "Hurry, it's launch day!"],
                   "neutral": ["Coming this season", "Launching this week"]},
    "trust": {"positive": ["Trusted by millions", "Quality you can count on", "Rated 5 stars by customers",
                           "Proven and reliable"],
              "neutral": ["Certified and tested", "Serving you since 1985", "Backed by experts"]},
    "surprise": {"positive": ["You won't believe it!", "Surprise inside!", "Wow, look at this!",
                              "Didn't see that coming!"],
                 "neutral": ["Guess what's new", "Plot twist"],
                 "negative": ["Wait, still paying more?", "Really? Still waiting?"]},
    "fear": {"negative": ["Don't get left behind", "Are you protected?", "Before it's too late",
                          "Time is running out", "Warning: spots are filling up"],
             "neutral": ["Be prepared", "Stay safe this season"]},
    "anger": {"negative": ["Fed up with hidden fees?", "Enough is enough!", "Sick of slow service?",
                           "Stop overpaying!", "Had it with long lines?"],
              "neutral": ["Time for a change"]},
    "sadness": {"negative": ["Some memories fade too fast", "Missing the good old days?",
                             "Nobody should feel alone", "They miss you"],
                "neutral": ["Remember the ones you love", "Take a moment for yourself"]},
    "calm": {"positive": ["Relax, we've got you", "Find your peace", "Breathe easy", "Slow down and enjoy"],
             "neutral": ["Take it easy", "Simple and quiet"]},
}

SENTIMENT_LINES: dict[str, list[str]] = {
    "positive": ["You'll love every moment.", "Feel amazing every day.", "It just keeps getting better.",
                 "Made to make you smile.", "Pure happiness, every time."],
    "neutral": ["Available in stores and online.", "Open daily from 9 to 9.", "Details in store.",
                "Now available nationwide.", "Visit us for details."],
    "negative": ["Don't settle for less.", "Stop wasting time and money.", "No more bad days.",
                 "Don't miss out again.", "Why keep struggling?"],
}

# audience -> lines addressing it ("general": an explicit catch-all, often nothing at all).
AUDIENCE_LINES: dict[str, list[str]] = {
    "general": ["For everyone.", "Something for everybody."],
    "kids": ["Kids love it!", "Fun for little ones.", "Ages 3 and up."],
    "teens": ["Made for teens.", "Teens, this one's for you.", "Your squad will love it."],
    "young_adults": ["For students and young pros.", "Made for Gen Z.", "Your twenties, your rules."],
    "parents": ["For busy parents.", "Family approved.", "Moms and dads love it."],
    "professionals": ["Built for professionals.", "Work smarter, not harder.", "For busy pros."],
    "seniors": ["Perfect for seniors.", "For the golden years.", "Ages 60 and over welcome."],
    "food_lovers": ["Calling all foodies!", "For true food lovers."],
    "tech_enthusiasts": ["For tech lovers.", "Geeks, rejoice!", "Specs that impress."],
    "fashion_followers": ["For trendsetters.", "Fashionistas, take note."],
    "travelers": ["Calling all travelers!", "For the wanderers."],
    "gamers": ["Gamers, level up!", "For hardcore gamers."],
    "citizens": ["Fellow citizens, stand up.", "Every voice counts.", "For our neighbors."],
}
# Audiences whose lines reveal the theme: dropped from picture-only ads.
THEME_REVEALING_AUDIENCES = ("food_lovers", "tech_enthusiasts", "fashion_followers", "travelers", "gamers",
                             "citizens")

# Abstract "pictures" for text-only ads may include these theme-neutral objects.
NEUTRAL_OBJECTS = ("gift", "person")


def check_banks() -> None:
    """Raise if a bank does not cover exactly the schema's labels (themes, emotions, audiences...)."""
    themes = set(schema.THEMES)
    for name, bank in (("PRODUCTS", PRODUCTS), ("HEADLINES", HEADLINES), ("BODY", BODY),
                       ("EXTRA_OBJECTS", EXTRA_OBJECTS)):
        if set(bank) != themes:
            raise RuntimeError(f"copybank.{name} keys != schema.THEMES: {sorted(set(bank) ^ themes)}")
    if set(HOOKS) != set(schema.head("emotion").labels):
        raise RuntimeError("copybank.HOOKS keys != schema emotions")
    if set(SENTIMENT_LINES) != set(schema.head("sentiment").labels):
        raise RuntimeError("copybank.SENTIMENT_LINES keys != schema sentiments")
    if set(AUDIENCE_LINES) != set(schema.head("audience").labels):
        raise RuntimeError("copybank.AUDIENCE_LINES keys != schema audiences")
    objs = set(schema.OBJECTS)
    used = {o for v in PRODUCTS.values() for _, o in v} | {o for v in EXTRA_OBJECTS.values() for o in v}
    if not used | set(NEUTRAL_OBJECTS) <= objs:
        raise RuntimeError(f"copybank objects not in schema: {sorted(used - objs)}")
    for sub in HOOKS.values():
        if not set(sub) <= set(schema.head("sentiment").labels):
            raise RuntimeError("copybank.HOOKS: unknown sentiment")


check_banks()


def all_phrases() -> list[str]:
    """Every fixed phrase (templates filled with every product), for the house-rule tests."""
    out: list[str] = []
    for t in schema.THEMES:
        prods = [p for p, _ in PRODUCTS[t]]
        out += prods + BODY[t] + [h.format(p=p) for h in HEADLINES[t] for p in prods]
        out += SENSITIVE_LINES.get(t, []) + SCAM_HEADLINES.get(t, [])
    out += ADVOCACY_HEADLINES + GENERIC_SENSITIVE + LEGAL_SAFE + GENERIC_SCAM_HEADLINES + SCAM_BODY
    out += GENERIC_HEADLINES + GENERIC_BODY
    out += [h for sub in HOOKS.values() for v in sub.values() for h in v]
    out += [s for v in SENTIMENT_LINES.values() for s in v] + [s for v in AUDIENCE_LINES.values() for s in v]
    return out
