"""WeCom: callback crypto, XML parsing, the app callback, 微信客服 (kf) pulls, AI-bot routes, the API client and its errors."""
