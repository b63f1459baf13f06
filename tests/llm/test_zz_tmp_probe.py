def test_probe(assistant):
    q = "长沙市的房价是多少？"
    for i in range(3):
        a = assistant.ask(q)
        print("\nANS", a.answerable, a.notices, [h.passage.text[:20] for h in assistant.search(q)])
