"""WeCom: callback crypto, XML parsing, the app callback and AI-bot routes, the API client and its errors."""
