mkdir shop-gauntlet && cd shop-gauntlet   # anywhere: beside your service, or in its repo
gauntlet init --name shop --base-url http://127.0.0.1:8080
