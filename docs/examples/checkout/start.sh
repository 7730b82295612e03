toxiproxy-server -port 8474 &
toxiproxy-cli create -l 127.0.0.1:25432 -u 127.0.0.1:5432 db
toxiproxy-cli create -l 127.0.0.1:28081 -u 127.0.0.1:8081 payments
DATABASE_URL=postgresql://app@127.0.0.1:25432/app PAYMENTS_URL=http://127.0.0.1:28081 \
    ./run-my-service --port 8080 &
